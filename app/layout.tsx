import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import { ClassroomGate } from './components/classroom/classroom-gate';
import { ProjectorProvider } from './components/projector/projector-context';
import './globals.css';

export const metadata: Metadata = {
  title: 'packet-journey',
  description: 'Where does a packet go? Hop by hop through namespaces, veths, bridges, NAT and netfilter.',
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body className="min-h-screen bg-slate-950 text-slate-100 antialiased">
        {/* projector mode, page-wide keys and the shortcut list (app/components/projector/); the gate asks a
            student's name before the page (app/components/classroom/) */}
        <ProjectorProvider>
          <ClassroomGate>{children}</ClassroomGate>
        </ProjectorProvider>
      </body>
    </html>
  );
}
