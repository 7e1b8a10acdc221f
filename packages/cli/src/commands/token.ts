import type { CommandInput } from '../args.js';
import { loginOrToken } from './login.js';

/** `oidc-auth token HOST`: print the access token, refreshing when needed (for curl and scripts). */
export const token = (input: CommandInput): Promise<number> => loginOrToken('token', input);
