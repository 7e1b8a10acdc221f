import { base } from '#platform/base';
import type { Environment, Stdio } from './env.js';
import { AuthError, ErrorCode } from './errors.js';
/**
 * Environment variables that mark a batch job or a managed runtime, where nobody can answer a
 * login prompt (Slurm, PBS, SGE, LSF, OAR, MPI, Kubernetes, Freva batch jobs, JupyterHub), as
 * py-oidc-auth-client lists them. A variable set to the empty string does not count.
 */
export const batchJobVariables = [
  'SLURM_JOB_ID',
  'SLURM_NODELIST',
  'PBS_JOBID',
  'PBS_ENVIRONMENT',
  'PBS_NODEFILE',
  'JOB_ID',
  'SGE_TASK_ID',
  'PE_HOSTFILE',
  'LSB_JOBID',
  'LSB_HOSTS',
  'OAR_JOB_ID',
  'OAR_NODEFILE',
  'OMPI_COMM_WORLD_SIZE',
  'PMI_RANK',
  'MPI_LOCALRANKID',
  'KUBERNETES_SERVICE_HOST',
  'KUBERNETES_PORT',
  'FREVA_BATCH_JOB',
  'JUPYTERHUB_USER',
] as const;

/** The batch-job variable that is set (and not empty), if any. */
export function batchJobVariable(env: Environment = base.env()): string | undefined {
  return batchJobVariables.find((name) => env[name] !== undefined && env[name] !== '');
}

export type { Stdio };

/** Whether a person can answer a login prompt here, and if not, why not (for messages). */
export type LoginSituation = { interactive: true } | { interactive: false; reason: string };

/**
 * `INTERACTIVE_SESSION` as py-oidc-auth-client reads it: an integer, 0 for no and anything
 * else for yes (`true`/`false`, `yes`/`no`, `on`/`off` are accepted too). Unset or empty:
 * undefined. Any other value is an `OIDC_INVALID_OPTIONS`, so a typo never silently decides.
 */
export function interactiveSessionVariable(env: Environment = base.env()): boolean | undefined {
  const raw = env.INTERACTIVE_SESSION?.trim().toLowerCase();
  if (raw === undefined || raw === '') return undefined;
  if (/^[+-]?\d+$/.test(raw)) return Number(raw) !== 0;
  if (['true', 'yes', 'on'].includes(raw)) return true;
  if (['false', 'no', 'off'].includes(raw)) return false;
  throw new AuthError(
    ErrorCode.INVALID_OPTIONS,
    `INTERACTIVE_SESSION="${env.INTERACTIVE_SESSION}" is not understood: set it to 1 (a person is here and may log in) or 0 (never prompt), or unset it.`,
  );
}

/**
 * Whether a person can answer a login prompt, decided in this order (the batch guide has the
 * table):
 * 1. a batch-job variable is set (not empty) → no, whatever else says yes;
 * 2. `INTERACTIVE_SESSION` is set → its value (1: a notebook kernel or a piped program whose
 *    user is there; 0: never prompt);
 * 3. stdin or stderr is a terminal → yes (the prompt goes to stderr, so `node app.js | tee log`
 *    and `$(oidc-auth token …)` can still log in);
 * 4. otherwise no.
 */
export function loginSituation(
  env: Environment = base.env(),
  stdio: Stdio = base.terminals(),
): LoginSituation {
  const batch = batchJobVariable(env);
  if (batch) return { interactive: false, reason: `this is a batch job (${batch} is set)` };
  const session = interactiveSessionVariable(env);
  if (session === true) return { interactive: true };
  if (session === false) return { interactive: false, reason: 'INTERACTIVE_SESSION=0 is set' };
  if (stdio.stdin?.isTTY || stdio.stderr?.isTTY) return { interactive: true };
  return { interactive: false, reason: 'no terminal is attached' };
}

/** True when a person can answer a login prompt; see {@link loginSituation} for the rules. */
export function isInteractive(
  env: Environment = base.env(),
  stdio: Stdio = base.terminals(),
): boolean {
  return loginSituation(env, stdio).interactive;
}
