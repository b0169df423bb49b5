import { AppError } from '../errors.js';

/** Values for a template: every `{{name}}` in the template must have one, and every value must be used. */
export type TemplateValues = Readonly<Record<string, string | number>>;

const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}/g;

// Fills `{{name}}` placeholders; an unknown placeholder, a missing value or an unused value is an error.
export function renderTemplate(template: string, values: TemplateValues): string {
  const missing = new Set<string>();
  const used = new Set<string>();
  const out = template.replace(PLACEHOLDER, (_m, name: string) => {
    if (!Object.prototype.hasOwnProperty.call(values, name)) {
      missing.add(name);
      return '';
    }
    used.add(name);
    return String(values[name]);
  });
  const problems: string[] = [];
  if (missing.size > 0) problems.push(`no value for placeholder ${[...missing].map((n) => `{{${n}}}`).join(', ')}`);
  const unused = Object.keys(values).filter((k) => !used.has(k));
  if (unused.length > 0) problems.push(`unknown placeholder ${unused.map((n) => `{{${n}}}`).join(', ')} (not in the template)`);
  const bare = template.replace(PLACEHOLDER, '');
  const stray = bare.match(/\{\{|\}\}/);
  if (stray) problems.push(`malformed placeholder near "${bare.slice(Math.max(0, (stray.index ?? 0) - 10), (stray.index ?? 0) + 20).replace(/\n/g, ' ')}"`);
  if (problems.length > 0) throw new AppError('USAGE', `template: ${problems.join('; ')}`);
  return out;
}

/** The placeholder names a template uses, in first-use order. */
export function templatePlaceholders(template: string): string[] {
  const names: string[] = [];
  for (const m of template.matchAll(PLACEHOLDER)) {
    const n = m[1] ?? '';
    if (!names.includes(n)) names.push(n);
  }
  return names;
}
