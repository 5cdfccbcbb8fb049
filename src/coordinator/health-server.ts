// The standard grpc.health.v1 Health service on its own plain-text port, so Kubernetes
// `grpc:` liveness/readiness probes (and grpc_health_probe) can check the coordinator
// without speaking pipa's protocol. Check answers SERVING for the whole server ('') and for
// the services named in `services`; any other name is NOT_FOUND, as the protocol asks.
import * as grpc from '@grpc/grpc-js';
import { loadPipaProtos } from '../comm/proto.js';

export class HealthServerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HealthServerError';
  }
}

export type ServingStatus = 'SERVING' | 'NOT_SERVING';

export interface HealthServer {
  port: number;
  address: string;
  close(): Promise<void>;
}

let definition: grpc.GrpcObject | null = null;

/** The Health client constructor (its `.service` is the server definition). */
export function healthClientConstructor(): grpc.ServiceClientConstructor {
  definition ??= grpc.loadPackageDefinition(loadPipaProtos(['grpc/health/v1/health.proto']));
  const v1 = ((definition.grpc as grpc.GrpcObject).health as grpc.GrpcObject).v1 as grpc.GrpcObject;
  return v1.Health as grpc.ServiceClientConstructor;
}

/**
 * Starts the Health service on host:port (0 = any free port). `status` is asked on every
 * Check, so the answer follows the process (e.g. NOT_SERVING once the run has failed).
 */
export async function startHealthServer(
  port: number, host: string, services: readonly string[], status: () => ServingStatus = () => 'SERVING',
): Promise<HealthServer> {
  const server = new grpc.Server();
  const known = new Set(['', ...services]);
  server.addService(healthClientConstructor().service, {
    Check: (call: grpc.ServerUnaryCall<{ service: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const name = call.request.service;
      if (!known.has(name)) {
        cb(Object.assign(new Error(`unknown service '${name}'`), { code: grpc.status.NOT_FOUND, details: `unknown service '${name}'`, metadata: new grpc.Metadata() }));
        return;
      }
      cb(null, { status: status() });
    },
  });
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (e, p) => {
      if (!e) return resolve(p);
      server.forceShutdown();
      reject(new HealthServerError(`health server could not listen on ${host}:${port}: ${e.message}`));
    }),
  );
  return {
    port: bound,
    address: `${host.includes(':') ? `[${host}]` : host}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 1000);
        server.tryShutdown(() => {
          clearTimeout(t);
          resolve();
        });
      }),
  };
}
