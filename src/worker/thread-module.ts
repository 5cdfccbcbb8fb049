// Starts a worker thread from a module next to the caller, under plain Node (.js) or under
// tsx (.ts sources): Node 20 workers do not inherit the main thread's module hooks, so the
// .ts case boots through a two-line script that registers tsx first.
// (src/comm/ring-thread.ts does the same for the ring thread.)
import { Worker } from 'node:worker_threads';

export function startModuleThread(callerUrl: string, baseName: string, workerData: unknown): Worker {
  if (!callerUrl.endsWith('.ts')) return new Worker(new URL(`./${baseName}.js`, callerUrl), { workerData });
  const entry = new URL(`./${baseName}.ts`, callerUrl).href;
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(bootstrap, { eval: true, workerData });
}
