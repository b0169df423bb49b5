import { existsSync } from 'node:fs';

// Why a test cannot put servers in namespaces here (not root, a tool missing); undefined when it can.
// Under CI=true every part is installed, so a reason is a failure there, never a silent skip.
export function namespaceSkipReason(test: string, namespaces: string, tools: readonly string[]): string | undefined {
  const missing = tools.filter((p) => !existsSync(p) && !existsSync(p.replace('/usr', '')));
  const why = process.getuid?.() !== 0 ? `needs root for ${namespaces} namespaces` : missing.length > 0 ? `missing ${missing.join(', ')}` : undefined;
  if (why !== undefined && process.env['CI'] === 'true') throw new Error(`${test} cannot run under CI=true: ${why}`);
  return why;
}
