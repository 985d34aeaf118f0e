// What the panels' labelled form controls share, whatever they draw.
import type { ChangeEvent } from 'react';

/** A labelled control holding a string (empty is "any" or "not chosen"), found by the specs by test id. */
export interface FieldProps {
  readonly label: string;
  readonly testId: string;
  readonly value: string;
  readonly onChange: (v: string) => void;
}

/** A typed port as the forms keep it: digits only, at most five. */
export const portDigits = (v: string): string => v.replace(/[^0-9]/g, '').slice(0, 5);

/** The attributes that tie an <input> or <select> to its field. */
export function bindField(p: FieldProps) {
  return {
    'data-testid': p.testId,
    value: p.value,
    onChange: (e: ChangeEvent<HTMLInputElement | HTMLSelectElement>) => p.onChange(e.target.value),
  };
}
