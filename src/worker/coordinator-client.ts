// The worker's (and `pipa status`'s) unary and state-streaming calls to the coordinator,
// each with a deadline. Errors keep their gRPC status code; the message names the call.
import * as grpc from '@grpc/grpc-js';
import {
  controlChannelOptions, coordinatorClientConstructor, deadlineIn, joinChunks, stateChunks,
  type EvalReportMsg, type JoinRequest, type StateChunkMsg, type StatusReplyMsg,
} from '../coordinator/wire.js';

export class CoordinatorCallError extends Error {
  constructor(readonly call: string, readonly code: grpc.status, details: string, address: string) {
    super(`${call} to coordinator ${address} failed with ${grpc.status[code] ?? code}: ${details}`);
    this.name = 'CoordinatorCallError';
  }
}

type Unary = (req: unknown, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: unknown) => void) => void;

export class CoordinatorClient {
  private readonly client: grpc.Client;

  constructor(readonly address: string, private readonly timeoutMs = 30_000) {
    const Client = coordinatorClientConstructor();
    this.client = new Client(address, grpc.credentials.createInsecure(), controlChannelOptions);
  }

  private unary<T>(method: string, req: unknown, timeoutMs = this.timeoutMs): Promise<T> {
    const f = (this.client as unknown as Record<string, Unary>)[method].bind(this.client);
    return new Promise((resolve, reject) =>
      f(req, { deadline: deadlineIn(timeoutMs) }, (e, r) => (e ? reject(new CoordinatorCallError(method, e.code, e.details, this.address)) : resolve(r as T))),
    );
  }

  /** Waits for the server to be reachable (workers may start before the coordinator). */
  async waitReady(timeoutMs: number): Promise<void> {
    await new Promise<void>((resolve, reject) =>
      this.client.waitForReady(deadlineIn(timeoutMs), (e) => (e ? reject(new CoordinatorCallError('connect', grpc.status.UNAVAILABLE, e.message, this.address)) : resolve())),
    );
  }

  runConfig(): Promise<{ config_yaml: string; config_hash: string; run_dir: string }> {
    return this.unary('GetRunConfig', {});
  }

  join(r: JoinRequest): Promise<{ worker_id: string; heartbeat_ms: number }> {
    return this.unary('Join', r);
  }

  reportEval(r: EvalReportMsg): Promise<{ complete: boolean }> {
    return this.unary('ReportEval', r);
  }

  status(timeoutMs = 10_000): Promise<StatusReplyMsg> {
    return this.unary('Status', {}, timeoutMs);
  }

  /** Commits the state; retried on UNAVAILABLE (a commit of the same step is idempotent). */
  async putState(data: Buffer, step: number, generation: number, final: boolean, timeoutMs = 120_000): Promise<{ step: number; bytes: number; saved_to_disk: boolean }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.putStateOnce(data, step, generation, final, timeoutMs);
      } catch (e) {
        if (!(e instanceof CoordinatorCallError) || e.code !== grpc.status.UNAVAILABLE || attempt >= 3) throw e;
        await new Promise((r) => setTimeout(r, 500 * attempt));
      }
    }
  }

  private putStateOnce(data: Buffer, step: number, generation: number, final: boolean, timeoutMs: number): Promise<{ step: number; bytes: number; saved_to_disk: boolean }> {
    return new Promise((resolve, reject) => {
      const call = (this.client as unknown as { PutState: (o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: unknown) => void) => grpc.ClientWritableStream<StateChunkMsg> }).PutState(
        { deadline: deadlineIn(timeoutMs) },
        (e, r) => (e ? reject(new CoordinatorCallError('PutState', e.code, e.details, this.address)) : resolve(r as { step: number; bytes: number; saved_to_disk: boolean })),
      );
      for (const c of stateChunks(data, step, generation, final)) call.write(c);
      call.end();
    });
  }

  getState(timeoutMs = 120_000): Promise<{ step: number; data: Buffer }> {
    return new Promise((resolve, reject) => {
      const call = (this.client as unknown as { GetState: (r: unknown, o: grpc.CallOptions) => grpc.ClientReadableStream<StateChunkMsg> }).GetState({}, { deadline: deadlineIn(timeoutMs) });
      const chunks: StateChunkMsg[] = [];
      call.on('data', (c: StateChunkMsg) => chunks.push(c));
      call.on('error', (e: grpc.ServiceError) => reject(new CoordinatorCallError('GetState', e.code, e.details, this.address)));
      call.on('end', () => {
        try {
          resolve(joinChunks(chunks));
        } catch (e) {
          reject(e);
        }
      });
    });
  }

  close(): void {
    this.client.close();
  }
}
