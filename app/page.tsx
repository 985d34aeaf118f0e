'use client';
import { LocaleSwitch } from './i18n/locale-switch';
import { useT } from './i18n/use-t';
import { useState, type ReactNode } from 'react';
import { CapturePanel } from './components/capture/capture-panel';
import { ClassroomBar } from './components/classroom/classroom-bar';
import { FollowedSwap } from './components/classroom/followed';
import { FlowsPanel } from './components/flows/flows-panel';
import { FollowPanel } from './components/hop-diagram/follow-panel';
import { FollowThisContext, type FollowPreset } from './components/lab/follow-presets';
import { LabPanel } from './components/lab/lab-panel';
import { MacMap } from './components/mac-map/mac-map';
import { RecordButton, ReplayStrip } from './components/replay/replay-bar';
import { ConnectionBadge } from './components/shell/connection-badge';
import { shellIds } from './components/shell/test-ids';
import { useTabFollow } from './components/shell/use-tab-follow';

const TABS = [{ id: 'lab' }, { id: 'map' }, { id: 'follow' }, { id: 'capture' }, { id: 'flows' }] as const;
type TabId = (typeof TABS)[number]['id'];

export default function Home() {
  const tr = useT('page');
  const [tab, setTab] = useState<TabId>('lab');
  // Panels mount on first visit and then stay mounted (hidden), so a running capture or live trace
  // survives a tab switch. A request from the map ("capture here", "follow from here") remounts the
  // target panel with that starting point.
  const [visited, setVisited] = useState<ReadonlySet<TabId>>(new Set(['lab']));
  const [captureAt, setCaptureAt] = useState<{ netns: string; iface: string; n: number } | undefined>();
  // A pod picked on the map preselects the source; "follow this" on a scenario card runs a preset.
  const [followAt, setFollowAt] = useState<{ from?: string; preset?: FollowPreset; n: number }>({ n: 0 });

  const open = (id: TabId) => {
    setTab(id);
    setVisited((v) => (v.has(id) ? v : new Set([...v, id])));
  };
  // Follow the instructor: this tab is broadcast (instructor), or the instructor's is opened (student).
  useTabFollow(tab, open);

  const panel = (id: TabId, node: ReactNode) =>
    visited.has(id) ? (
      <div key={id} hidden={tab !== id} className="h-full">
        {node}
      </div>
    ) : null;

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
              aria-pressed={tab === t.id}
              onClick={() => open(t.id)}
              className={`rounded px-4 py-2 text-lg ${tab === t.id ? 'bg-sky-600 text-white' : 'text-slate-300 hover:bg-slate-800'}`}
            >
              {tr(`tabs.${t.id}`)}
            </button>
          ))}
        </nav>
        <div className="ml-auto flex items-center gap-3">
          <RecordButton />
          <ClassroomBar />
          <LocaleSwitch />
          <ConnectionBadge />
        </div>
      </header>
      <ReplayStrip />
      <div className="flex-1">
        {panel(
          'lab',
          <FollowThisContext.Provider
            value={(preset) => {
              setFollowAt((f) => ({ preset, n: f.n + 1 }));
              open('follow');
            }}
          >
            <LabPanel />
          </FollowThisContext.Provider>,
        )}
        {panel(
          'map',
          <MacMap
            onCapture={(netns, iface) => {
              setCaptureAt((c) => ({ netns, iface, n: (c?.n ?? 0) + 1 }));
              open('capture');
            }}
            onSelectPod={(netns) => {
              setFollowAt((f) => ({ from: netns, n: f.n + 1 }));
              open('follow');
            }}
          />,
        )}
        {panel(
          'follow',
          <FollowedSwap
            part="journey"
            own={<FollowPanel key={`follow-${followAt.n}`} initialFrom={followAt.from} run={followAt.preset} />}
          />,
        )}
        {panel(
          'capture',
          <FollowedSwap
            part="capture"
            own={
              <CapturePanel
                key={`capture-${captureAt?.n ?? 0}`}
                initial={captureAt ? { netns: captureAt.netns, iface: captureAt.iface } : undefined}
              />
            }
          />,
        )}
        {/* Mounted only while shown: the flow view counts in the kernel for as long as it is watched. */}
        {tab === 'flows' && <FlowsPanel />}
      </div>
    </main>
  );
}
