// data-testid values shared by the projector/step-through components and e2e/projector.spec.ts.
export const projectorIds = {
  /** The step-through bar above the diagram; `data-step` is the current step's key, `data-index` its index. */
  stepper: 'pj-stepper',
  /** The current step's one-line narration. */
  narration: 'pj-narration',
  counter: 'pj-step-counter',
  start: 'pj-step-start',
  prev: 'pj-step-prev',
  next: 'pj-step-next',
  play: 'pj-step-play',
  exit: 'pj-step-exit',
  /** The packet's fields beside the diagram, for the current hop. */
  fields: 'pj-fields',
  field: (name: string) => `pj-field-${name}`,
  /** The small MAC map beside the diagram, with the current hop's interface lit. */
  miniMap: 'pj-mini-map',
  shortcuts: 'pj-shortcuts',
  shortcutsButton: 'pj-shortcuts-button',
  projectorToggle: 'pj-projector-toggle',
  /** The export drop-down (a <details>): open it before the buttons inside. */
  exportMenu: 'pj-export-menu',
  exportStyle: 'pj-export-style',
  exportSvg: 'pj-export-svg',
  exportPng: 'pj-export-png',
  exportJson: 'pj-export-json',
  exportError: 'pj-export-error',
} as const;
