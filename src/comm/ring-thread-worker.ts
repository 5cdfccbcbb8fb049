// Entry of the worker thread that runs a rank's ring I/O (see ring-thread.ts): it owns the
// PeerServer and the communicator, so the ring keeps moving bytes and answering peers while
// the main thread is blocked in TF.js kernels for seconds.
import { parentPort, workerData } from 'node:worker_threads';
import { PeerServer } from './peer-server.js';
import { RingCommunicator } from './ring-communicator.js';
import { RingConfigError } from './errors.js';
import { serializeError, type RingThreadReply, type RingThreadRequest, type RingThreadStart } from './ring-thread-protocol.js';

const port = parentPort!;
const start = workerData as RingThreadStart;

const server = await PeerServer.listen(start.host, start.port, start.transport);
let comm: RingCommunicator | null = null;

port.postMessage({ id: 0, ok: true, value: { address: server.address } } satisfies RingThreadReply);

port.on('message', (req: RingThreadRequest) => {
  void handle(req).then(
    (value) => port.postMessage({ id: req.id, ok: true, value } satisfies RingThreadReply),
    (e: unknown) => port.postMessage({ id: req.id, ok: false, error: serializeError(e) } satisfies RingThreadReply),
  );
});

async function handle(req: RingThreadRequest): Promise<unknown> {
  switch (req.type) {
    case 'configure':
      comm?.close();
      comm = new RingCommunicator(server, { ...req.config, transport: start.transport });
      return null;
    case 'allreduce': {
      if (!comm) throw new RingConfigError('ring thread: allreduce before configure');
      const buf = new Float32Array(req.sab, req.byteOffset, req.length);
      return comm.allReduce(buf, req.opts);
    }
    case 'abort':
      comm?.abort(req.reason);
      return null;
    case 'close':
      comm?.close();
      comm = null;
      await server.close();
      setImmediate(() => port.close());
      return null;
  }
}
