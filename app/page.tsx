'use client';
import { useState } from 'react';
import { LabPanel } from './components/lab/lab-panel';
import { ConnectionBadge } from './components/shell/connection-badge';
import { shellIds } from './components/shell/test-ids';

const TABS = [{ id: 'lab', label: 'Lab' }] as const;
type TabId = (typeof TABS)[number]['id'];

export default function Home() {
  const [tab, setTab] = useState<TabId>('lab');
  return (
    <main className="flex min-h-screen flex-col">
      <header className="flex items-center gap-6 border-b border-slate-800 bg-slate-900 px-6 py-3">
        <h1 className="text-2xl font-bold tracking-tight">
          packet<span className="text-sky-400">-journey</span>
        </h1>
        <nav className="flex gap-1">
          {TABS.map((t) => (
            <button
              key={t.id}
              data-testid={shellIds.tab(t.id)}
              onClick={() => setTab(t.id)}
              className={`rounded px-4 py-2 text-lg ${tab === t.id ? 'bg-sky-600 text-white' : 'text-slate-300 hover:bg-slate-800'}`}
            >
              {t.label}
            </button>
          ))}
        </nav>
        <div className="ml-auto">
          <ConnectionBadge />
        </div>
      </header>
      <div className="flex-1">{tab === 'lab' && <LabPanel />}</div>
    </main>
  );
}
