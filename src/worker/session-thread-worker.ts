// The session thread: owns the worker's Session stream with the coordinator and sends a
// heartbeat every heartbeatMs from here, so liveness never waits for a TF.js kernel that
// blocks the main thread for seconds. Coordinator commands are forwarded to the main thread.
import * as grpc from '@grpc/grpc-js';
import { parentPort, workerData } from 'node:worker_threads';
import { controlChannelOptions, coordinatorClientConstructor, type SessionDown, type SessionUp } from '../coordinator/wire.js';
import type { FromSessionThread, SessionThreadStart, ToSessionThread } from './session-thread-protocol.js';

const start = workerData as SessionThreadStart;
const port = parentPort!;
const Client = coordinatorClientConstructor();
const client = new Client(start.address, grpc.credentials.createInsecure(), controlChannelOptions);
const stream = (client as unknown as { Session(): grpc.ClientDuplexStream<SessionUp, SessionDown> }).Session();
let step = 0;
let closed = false;

const post = (m: FromSessionThread) => port.postMessage(m);
const send = (m: SessionUp) => {
  if (!closed) stream.write(m);
};

stream.on('data', (msg: SessionDown) => post({ type: 'down', msg }));
stream.on('error', (e: grpc.ServiceError) => {
  if (closed) return;
  closed = true;
  post({ type: 'closed', error: `${grpc.status[e.code] ?? e.code}: ${e.details ?? e.message}` });
});
stream.on('end', () => {
  if (closed) return;
  closed = true;
  post({ type: 'closed', error: null });
});

send({ kind: 'hello', hello: { worker_id: start.workerId } });
const beat = setInterval(() => send({ kind: 'heartbeat', heartbeat: { step } }), start.heartbeatMs);

port.on('message', (m: ToSessionThread) => {
  if (m.type === 'send') send(m.msg);
  else if (m.type === 'progress') step = m.step;
  else if (m.type === 'close') {
    clearInterval(beat);
    closed = true;
    stream.end();
    // Let the half-close reach the coordinator before the channel goes.
    setTimeout(() => {
      client.close();
      port.close();
    }, 100);
  }
});
