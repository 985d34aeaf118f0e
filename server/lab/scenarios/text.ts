// A scenario's words live in the catalogs (server/protocol/i18n/, `scenario.<name>.*`) so the Lab tab can
// show them in French; the English text the CLI prints and `description` carries is their en rendering.
import { msg, type Msg } from '../../protocol/i18n/msg';
import { en } from '../../protocol/i18n/render';
import type { LabScenario } from '../../protocol/lab';

type Values = Msg['values'];

/** `title` and `description` (English) with the messages they come from. */
export function scenarioText(name: LabScenario, values?: Values) {
  const titleMsg = msg(`scenario.${name}.title`);
  const descriptionMsg = msg(`scenario.${name}.description`, values);
  return { title: en(titleMsg), titleMsg, description: en(descriptionMsg), descriptionMsg };
}

/** A setting's `help` (English) and its message. */
export function settingHelp(name: LabScenario, setting: string, values?: Values) {
  const helpMsg = msg(`scenario.${name}.setting.${setting}`, values);
  return { help: en(helpMsg), helpMsg };
}
