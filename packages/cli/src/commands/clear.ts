import { arity, type CommandInput } from '../args.js';
import { storeOf } from '../server.js';

/** `oidc-auth clear`: forget every stored login, of every server and client. */
export async function clear({ rest, values, io }: CommandInput): Promise<number> {
  arity('clear', rest, 0);
  await storeOf(values, io).clear();
  io.stderr.write('Removed every stored login.\n');
  return 0;
}
