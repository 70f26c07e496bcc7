// A minimal Kubernetes API client for the pod (no @kubernetes/client-node in the bundle): GET and
// JSON patch of one Service with the kinject-restorer token the runner handed over, against the
// in-cluster API address (KUBERNETES_SERVICE_HOST/PORT) and the cluster CA.

import https from 'node:https';

export class KubeApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export interface KubeApi {
  getService(namespace: string, name: string): Promise<any>;
  patchService(namespace: string, name: string, ops: unknown[], fieldManager: string): Promise<any>;
}

export function inClusterApi(token: string, ca: string, env = process.env): KubeApi {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = Number(env.KUBERNETES_SERVICE_PORT ?? 443);
  if (!host) throw new Error('KUBERNETES_SERVICE_HOST is not set: the pod cannot reach the API server');
  const call = (method: string, path: string, body?: unknown, contentType?: string) =>
    new Promise<any>((resolve, reject) => {
      const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const req = https.request(
        {
          host: host.includes(':') ? `[${host}]` : host,
          port,
          method,
          path,
          ca,
          servername: 'kubernetes.default.svc',
          timeout: 10_000,
          headers: {
            authorization: `Bearer ${token}`,
            accept: 'application/json',
            ...(data ? { 'content-type': contentType ?? 'application/json', 'content-length': data.length } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: any;
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
            if ((res.statusCode ?? 0) >= 300)
              reject(new KubeApiError(`${method} ${path}: ${res.statusCode} ${json?.message ?? text.slice(0, 200)}`, res.statusCode ?? 0));
            else resolve(json);
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on('error', reject);
      req.end(data);
    });
  const svcPath = (ns: string, name: string) => `/api/v1/namespaces/${encodeURIComponent(ns)}/services/${encodeURIComponent(name)}`;
  return {
    getService: (ns, name) => call('GET', svcPath(ns, name)),
    patchService: (ns, name, ops, fieldManager) =>
      call('PATCH', `${svcPath(ns, name)}?fieldManager=${encodeURIComponent(fieldManager)}`, ops, 'application/json-patch+json'),
  };
}
