import type { Metadata } from 'next';
import { cookies, headers } from 'next/headers';
import type { ReactNode } from 'react';
import { ClassroomGate } from './components/classroom/classroom-gate';
import { ProjectorProvider } from './components/projector/projector-context';
import { LOCALE_COOKIE, pickLocale } from './i18n/locale';
import { I18nProvider } from './i18n/provider';
import { CATALOGS } from '../server/protocol/i18n/render';
import './globals.css';

export async function generateMetadata(): Promise<Metadata> {
  const locale = await requestLocale();
  const ui = (CATALOGS[locale] as { ui: { meta: { description: string } } }).ui;
  return { title: 'packet-journey', description: ui.meta.description };
}

async function requestLocale() {
  return pickLocale((await cookies()).get(LOCALE_COOKIE)?.value, (await headers()).get('accept-language'));
}

export default async function RootLayout({ children }: { children: ReactNode }) {
  const locale = await requestLocale();
  return (
    <html lang={locale}>
      <body className="min-h-screen bg-slate-950 text-slate-100 antialiased">
        {/* the page's language (app/i18n/); projector mode, page-wide keys and the shortcut list
            (app/components/projector/); the gate asks a student's name before the page (app/components/classroom/) */}
        <I18nProvider initialLocale={locale}>
          <ProjectorProvider>
            <ClassroomGate>{children}</ClassroomGate>
          </ProjectorProvider>
        </I18nProvider>
      </body>
    </html>
  );
}
