'use client';
// Projector mode for the whole page: the `projector` class on <html> (globals.css turns it into large
// type and a high-contrast palette), kept in localStorage so a reload in front of the room keeps it.
// Also page-wide keys (p, f, ?), the shortcut list, and the interface the step-through is on, which
// the MAC map lights up.
import { useT } from '../../i18n/use-t';
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { globalKey, hasModifier, isTyping, shortcuts } from './steps';
import { projectorIds } from './test-ids';

const STORAGE_KEY = 'packet-journey:projector';

export interface FocusIface {
  readonly netns: string;
  readonly ifname: string;
}

interface ProjectorState {
  readonly projector: boolean;
  readonly toggleProjector: () => void;
  readonly helpOpen: boolean;
  readonly setHelpOpen: (open: boolean) => void;
  /** The interface of the step being shown, for the MAC map. */
  readonly focus: FocusIface | undefined;
  readonly setFocus: (f: FocusIface | undefined) => void;
}

const NOOP_STATE: ProjectorState = {
  projector: false,
  toggleProjector: () => undefined,
  helpOpen: false,
  setHelpOpen: () => undefined,
  focus: undefined,
  setFocus: () => undefined,
};

const ProjectorContext = createContext<ProjectorState>(NOOP_STATE);

export const useProjector = (): ProjectorState => useContext(ProjectorContext);

function readStored(): boolean {
  try {
    return window.localStorage.getItem(STORAGE_KEY) === '1';
  } catch {
    return false; // storage refused (private mode, policy): the mode just does not persist
  }
}

/** Full screen for the journey stage on screen (narration, diagram, fields), else the whole page. */
function toggleFullscreen(): void {
  const done = (p: Promise<void> | undefined) => void p?.catch(() => undefined);
  if (document.fullscreenElement) return done(document.exitFullscreen());
  const stage = [...document.querySelectorAll<HTMLElement>('[data-pj-stage]')].find(
    (e) => e.getClientRects().length > 0,
  );
  done((stage ?? document.documentElement).requestFullscreen?.());
}

export function ProjectorProvider({ children }: { children: ReactNode }) {
  const [projector, setProjector] = useState(false);
  const [loaded, setLoaded] = useState(false);
  const [helpOpen, setHelpOpen] = useState(false);
  const [focus, setFocus] = useState<FocusIface | undefined>();

  useEffect(() => {
    setProjector(readStored());
    setLoaded(true);
  }, []);

  useEffect(() => {
    if (!loaded) return;
    document.documentElement.classList.toggle('projector', projector);
    try {
      window.localStorage.setItem(STORAGE_KEY, projector ? '1' : '0');
    } catch {
      // not persisted, still applied
    }
  }, [projector, loaded]);

  const toggleProjector = useCallback(() => setProjector((p) => !p), []);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || hasModifier(e) || isTyping(e.target as HTMLElement | null)) return;
      if (e.key === 'Escape' && helpOpen) {
        e.preventDefault();
        setHelpOpen(false);
        return;
      }
      const k = globalKey(e.key);
      if (!k) return;
      e.preventDefault();
      if (k === 'projector') toggleProjector();
      else if (k === 'fullscreen') toggleFullscreen();
      else setHelpOpen((o) => !o);
    };
    // Capture phase: Escape closes the list before the step-through would read it as "leave".
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, [helpOpen, toggleProjector]);

  const value = useMemo(
    () => ({ projector, toggleProjector, helpOpen, setHelpOpen, focus, setFocus }),
    [projector, toggleProjector, helpOpen, focus],
  );
  return (
    <ProjectorContext.Provider value={value}>
      {children}
      {helpOpen && <ShortcutList onClose={() => setHelpOpen(false)} />}
    </ProjectorContext.Provider>
  );
}

function ShortcutList({ onClose }: { onClose: () => void }) {
  const t = useT('projector.projectorContext');
  return (
    <div
      className="fixed inset-0 z-50 flex items-center justify-center bg-black/70"
      onClick={onClose}
      role="presentation"
    >
      <div
        data-testid={projectorIds.shortcuts}
        role="dialog"
        aria-label={t('keyboardShortcuts')}
        className="w-[36rem] max-w-[95vw] rounded-2xl border-2 border-slate-300 bg-slate-900 p-6 shadow-2xl"
        onClick={(e) => e.stopPropagation()}
      >
        <h2 className="mb-4 text-3xl font-bold">{t('keyboardShortcuts2')}</h2>
        <dl className="grid grid-cols-[9rem_1fr] gap-x-4 gap-y-2 text-xl">
          {shortcuts().map((s) => (
            <div key={s.keys} className="contents">
              <dt>
                <kbd className="rounded border border-slate-400 bg-slate-800 px-2 py-0.5 font-mono">{s.keys}</kbd>
              </dt>
              <dd className="text-slate-200">{s.what}</dd>
            </div>
          ))}
        </dl>
        <p className="mt-4 text-base text-slate-400">{t('keysAreIgnoredWhile')}</p>
      </div>
    </div>
  );
}
