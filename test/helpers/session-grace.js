// A short session grace for tests (KINJECT_SESSION_GRACE_SECONDS: the runner renews its Lease
// every grace/6 s and `kinject cleanup` treats the session as live until the grace has passed
// since the last renewal), and waiting until that grace has surely passed after a SIGKILL.
export const GRACE_SECONDS = 3;
export const graceEnv = { KINJECT_SESSION_GRACE_SECONDS: String(GRACE_SECONDS) };

/** Resolves once a session whose runner died now has surely outlived its grace. */
export function pastGrace() {
  return new Promise((resolve) => setTimeout(resolve, (GRACE_SECONDS + 1) * 1000));
}
