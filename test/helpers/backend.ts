// Tests run on the backend named by PIPA_TEST_BACKEND (default: cpu, the exact float32
// reference); the parity suite also repeats on wasm where it loads.
import { selectBackend, type BackendName } from '../../src/model/backend.js';

export async function useTestBackend(name?: BackendName): Promise<string> {
  const choice = await selectBackend(name ?? ((process.env.PIPA_TEST_BACKEND as BackendName) || 'cpu'));
  return choice.active;
}
