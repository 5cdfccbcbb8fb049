// Entry point of a data worker thread: runs tasks from the pool and posts results back with their
// buffers transferred. Errors travel as {name, message, path} and are re-raised on the main thread.
import { parentPort, workerData } from 'node:worker_threads';
import { handleTask, type WorkerContext, type WorkerTask } from './handlers.js';

const context = workerData as WorkerContext;
parentPort!.on('message', async (msg: { id: number; task: WorkerTask }) => {
  try {
    const { result, transfer } = await handleTask(context, msg.task);
    parentPort!.postMessage({ id: msg.id, ok: true, result }, transfer ?? []);
  } catch (e) {
    const err = e as Error & { path?: string };
    parentPort!.postMessage({ id: msg.id, ok: false, error: { name: err.name, message: err.message, path: err.path } });
  }
});
