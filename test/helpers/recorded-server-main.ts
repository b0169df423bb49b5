// A replay server as its own process, for tests that need one inside a network namespace (keepalived's checks run there):
//   node recorded-server-main.js FIXTURE.json SCENARIO_FILE PORT PID_FILE
// SCENARIO_FILE holds a scenario name of FIXTURE.json; the test rewrites it to change what the group looks like.
import { readFileSync, writeFileSync } from 'node:fs';
import type { Row } from '../../src/mysql/types.js';
import { groupAnswers, startRecordedServer, type RecordedAnswers } from './recorded-mysql-server.js';

async function main(fixtureFile: string, scenarioFile: string, port: number, pidFile: string): Promise<void> {
  const scenarios = (JSON.parse(readFileSync(fixtureFile, 'utf8')) as { scenarios: Record<string, Record<string, Row[]>> }).scenarios;
  const own = [{ id: 1, user: 'keepalived', host: '127.0.0.1:1', command: 'Query' }];
  const current = (): RecordedAnswers => groupAnswers(scenarios[readFileSync(scenarioFile, 'utf8').trim()] ?? {}, own);
  const server = await startRecordedServer(current(), { port });
  setInterval(() => { server.answers = current(); }, 100);
  writeFileSync(pidFile, `${process.pid}\n`);
}

const [fixture, scenarioFile, port, pidFile] = process.argv.slice(2);
if (fixture && scenarioFile && port && pidFile) void main(fixture, scenarioFile, Number(port), pidFile);
