// Real load tools against the `hello` service beside the node clients' concurrency figure:
// `wrk -t2 -c50` (HTTP/1.1 keep-alive: 50 connections opened once, then requests on them) and
// `ab -c 50` (HTTP/1.0, a new connection per request), each through kinject over both transports
// and through kubectl port-forward, in one sitting. Requests per second, higher is better;
// non-2xx/failed counts are recorded so a fast run of errors is not mistaken for a fast run.
import { run } from '../lib/process.js';

function wrkFigures(stdout) {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
  const errors = /Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout);
  const sockErr = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  if (!rps) throw new Error(`no Requests/sec in wrk's output: ${stdout.slice(-200)}`);
  const failures = (errors ? Number(errors[1]) : 0) + (sockErr ? sockErr.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  return { rps: Number(rps[1]), failures };
}

function abFigures(stdout) {
  const rps = /Requests per second:\s+([\d.]+)/.exec(stdout);
  const failed = /Failed requests:\s+(\d+)/.exec(stdout);
  const non2xx = /Non-2xx responses:\s+(\d+)/.exec(stdout);
  if (!rps) throw new Error(`no Requests per second in ab's output: ${stdout.slice(-200)}`);
  return { rps: Number(rps[1]), failures: (failed ? Number(failed[1]) : 0) + (non2xx ? Number(non2xx[1]) : 0) };
}

export async function loadTools({ kinject, env, ns, hello, quick, step }) {
  const out = {};
  const secs = quick ? 5 : 10;
  const abN = quick ? 1000 : 2000;
  const wrk = (url) => ['wrk', '-t2', '-c50', `-d${secs}s`, url];
  const ab = (url) => ['ab', '-q', '-n', String(abN), '-c', '50', url];
  const viaKinject = async (transport, cmd) =>
    (await run(kinject, ['run', '-n', ns, '--transport', transport, '--', ...cmd], { env, timeoutMs: 180000 })).stdout;
  const viaPf = async (cmd) => {
    if (!hello) throw new Error('no kubectl port-forward');
    return (await run(cmd[0], cmd.slice(1), { timeoutMs: 180000 })).stdout;
  };
  const record = (key, figures) => {
    out[`${key}_rps`] = figures?.rps ?? null;
    out[`${key}_failures`] = figures?.failures ?? null;
  };
  const pfUrl = () => `http://127.0.0.1:${hello?.port}/`;
  for (const [tool, cmd, parse] of [
    ['wrk', wrk, wrkFigures],
    ['ab', ab, abFigures],
  ]) {
    record(
      `${tool}`,
      await step(`${tool} -c 50 against hello: kinject port-forward`, async () => parse(await viaKinject('port-forward', cmd('http://hello/')))),
    );
    record(`direct_${tool}`, await step(`${tool} -c 50 against hello: kinject direct`, async () => parse(await viaKinject('direct', cmd('http://hello/')))));
    record(`pf_${tool}`, await step(`${tool} -c 50 against hello: kubectl port-forward`, async () => parse(await viaPf(cmd(pfUrl())))));
  }
  return out;
}
