'use client';
// The scenarios as cards: pick one to read what it shows and the commands to try, then bring it up.
// The running scenario's settings are switches here (the same as `lab set name=value`).
import { useMsg } from '../../i18n/provider';
import { useT } from '../../i18n/use-t';
import { useContext, useState } from 'react';
import type { LabAction, LabScenario, LabStatus, ScenarioInfo } from '../../../server/protocol/lab';
import { FOLLOW_PRESETS, FollowThisContext, followThisId } from './follow-presets';
import { labIds } from './test-ids';

export function ScenarioPicker({
  status,
  busy,
  onRun,
}: {
  status: LabStatus;
  busy: boolean;
  onRun: (a: LabAction) => void;
}) {
  const t = useT('lab.scenarioPicker');
  const say = useMsg();
  const [picked, setPicked] = useState<LabScenario | undefined>();
  const shown = picked ?? status.scenario ?? 'basic';
  const info = status.catalog.find((c) => c.name === shown);
  const running = status.up && status.scenario === shown;
  return (
    <div className="space-y-4">
      <div role="radiogroup" aria-label={t('scenario')} className="flex flex-wrap gap-2">
        {status.catalog.map((c) => (
          <button
            key={c.name}
            role="radio"
            aria-checked={c.name === shown}
            data-testid={labIds.scenario(c.name)}
            data-running={status.up && status.scenario === c.name}
            onClick={() => setPicked(c.name)}
            className={`rounded-lg border px-4 py-2 text-left text-lg ${c.name === shown ? 'border-sky-400 bg-sky-950/60' : 'border-slate-700 hover:bg-slate-800'}`}
          >
            <span className="font-mono font-semibold">{c.name}</span>
            {status.up && status.scenario === c.name && <span className="ml-2 text-emerald-400">{t('running')}</span>}
            <span className="block text-sm text-slate-400">{c.titleMsg ? say(c.titleMsg) : c.title}</span>
          </button>
        ))}
      </div>
      {info && <ScenarioCard info={info} running={running} status={status} busy={busy} onRun={onRun} />}
    </div>
  );
}

function ScenarioCard({
  info,
  running,
  status,
  busy,
  onRun,
}: {
  info: ScenarioInfo;
  running: boolean;
  status: LabStatus;
  busy: boolean;
  onRun: (a: LabAction) => void;
}) {
  const t = useT('lab.scenarioPicker');
  const say = useMsg();
  const verb = status.up ? t('switchTo') : t('start');
  return (
    <div data-testid={labIds.scenarioDescription} className="space-y-3 rounded-xl border border-slate-700 p-4">
      <div className="flex items-baseline gap-3">
        <h3 className="text-xl font-bold">{info.titleMsg ? say(info.titleMsg) : info.title}</h3>
        {info.seed && <span className="text-slate-400">{info.seed}</span>}
        {!running && (
          <button
            data-testid={labIds.scenarioUp}
            disabled={busy}
            onClick={() => onRun({ action: 'up', scenario: info.name })}
            className="ml-auto rounded bg-sky-600 px-4 py-2 font-semibold text-white hover:bg-sky-500 disabled:opacity-50"
          >
            {busy ? t('working') : `${verb} ${info.name}`}
          </button>
        )}
      </div>
      <p className="max-w-4xl text-lg leading-relaxed text-slate-200">
        {info.descriptionMsg ? say(info.descriptionMsg) : info.description}
      </p>
      {running && <FollowThis scenario={info.name} />}
      {info.tryCommands.length > 0 && (
        <div>
          <div className="mb-1 text-sm uppercase tracking-wide text-slate-400">{t('try')}</div>
          <ul className="space-y-1">
            {info.tryCommands.map((c) => (
              <li key={c}>
                <code className="select-all rounded bg-slate-800 px-2 py-1 font-mono text-base">{c}</code>
              </li>
            ))}
          </ul>
        </div>
      )}
      {running &&
        info.settings.map((s) => (
          <div key={s.name} className="flex items-center gap-3" title={s.helpMsg ? say(s.helpMsg) : s.help}>
            <span className="font-mono text-lg">{s.name}</span>
            {s.values.map((v) => {
              const on = (status.settings[s.name] ?? s.default) === v;
              return (
                <button
                  key={v}
                  data-testid={labIds.setting(s.name, v)}
                  aria-pressed={on}
                  disabled={busy || on}
                  onClick={() => onRun({ action: 'set', name: s.name, value: v })}
                  className={`rounded px-3 py-1 text-lg ${on ? 'bg-emerald-600 text-white' : 'border border-slate-600 hover:bg-slate-800'} disabled:cursor-default`}
                >
                  {v}
                </button>
              );
            })}
            <span className="text-sm text-slate-400">{s.helpMsg ? say(s.helpMsg) : s.help}</span>
          </div>
        ))}
    </div>
  );
}

/** Runs the scenario's telling follow on the Follow tab (see follow-presets.ts). */
function FollowThis({ scenario }: { scenario: LabScenario }) {
  const t = useT('lab.scenarioPicker');
  const followThis = useContext(FollowThisContext);
  const preset = FOLLOW_PRESETS[scenario];
  if (!followThis) return null;
  return (
    <button
      data-testid={followThisId}
      data-scenario={scenario}
      onClick={() => followThis(preset)}
      className="rounded-lg border border-emerald-500 bg-emerald-950/50 px-4 py-2 text-lg font-semibold text-emerald-100 hover:bg-emerald-900"
    >
      {t('followThis')} <span className="font-mono">{preset.label}</span>
    </button>
  );
}
