import type { Environment } from './env.js';
/**
 * Environment variables that mark a batch job or a managed runtime, where nobody can answer a
 * login prompt (Slurm, PBS, SGE, LSF, OAR, MPI, Kubernetes, JupyterHub).
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
  'JUPYTERHUB_USER',
] as const;

/** The batch-job variable that is set, if any. */
export function batchJobVariable(env: Environment = process.env): string | undefined {
  return batchJobVariables.find((name) => env[name] !== undefined && env[name] !== '');
}

/**
 * True when a person can answer a login prompt: stdin and stdout are terminals and no
 * batch-job variable is set.
 */
export function isInteractive(
  env: Environment = process.env,
  stdio: { stdin?: { isTTY?: boolean }; stdout?: { isTTY?: boolean } } = process,
): boolean {
  return Boolean(stdio.stdin?.isTTY && stdio.stdout?.isTTY) && batchJobVariable(env) === undefined;
}
