// gRPC settings of the data plane, set explicitly on both ends.
import type { ChannelOptions } from '@grpc/grpc-js';

export interface TransportOptions {
  /** Largest message either end accepts or sends; must exceed the chunk size plus its header. */
  maxMessageBytes: number;
  /**
   * HTTP/2 receive window (stream and connection) of the receiving side, i.e. the gRPC client
   * (see peer.proto for why the receiver is the client). 64 KiB (the default) halves throughput.
   */
  flowControlWindow: number;
}

export const DEFAULT_TRANSPORT: TransportOptions = {
  maxMessageBytes: 64 << 20,
  flowControlWindow: 32 << 20,
};

export function peerClientOptions(t: TransportOptions): ChannelOptions {
  return {
    'grpc.max_receive_message_length': t.maxMessageBytes,
    'grpc.max_send_message_length': t.maxMessageBytes,
    'grpc-node.flow_control_window': t.flowControlWindow,
    // A data-plane stream is never worth replaying: a retry buffer would only hold copies.
    'grpc.enable_retries': 0,
    // Each communicator has its own connection to its left neighbour, not a shared subchannel.
    'grpc.use_local_subchannel_pool': 1,
  };
}

export function peerServerOptions(t: TransportOptions): ChannelOptions {
  return {
    'grpc.max_receive_message_length': t.maxMessageBytes,
    'grpc.max_send_message_length': t.maxMessageBytes,
  };
}
