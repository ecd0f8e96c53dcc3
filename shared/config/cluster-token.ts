// The shared secret every coordinator, worker and client presents. It is required unless the
// cluster explicitly runs without authentication, and it can come from a file (a mounted
// Kubernetes secret) instead of a flag or variable, which would show in `ps` and in the
// process environment.

import { readFileSync } from 'node:fs';
import { ConfigurationError } from '../errors.ts';
import { boolean, clusterToken, text } from './config-values.ts';
import type { ConfigFieldSpec, ConfigValueSource, ValueOrigin } from './config-sources.ts';

export const CLUSTER_TOKEN_FIELDS = {
  clusterToken: {
    valueName: 'TOKEN',
    description: 'Shared secret of the cluster, at least 16 characters; required unless --allow-unauthenticated. Prefer --cluster-token-file.',
    parse: clusterToken,
  } satisfies ConfigFieldSpec<string>,
  clusterTokenFile: {
    valueName: 'PATH',
    description: 'A file holding the cluster token (surrounding whitespace ignored); instead of --cluster-token.',
    parse: text('a file path'),
  } satisfies ConfigFieldSpec<string>,
  allowUnauthenticated: {
    valueName: '',
    boolean: true,
    description: 'Run without a cluster token: anyone who reaches the ports controls the cluster.',
    defaultText: 'false',
    parse: boolean,
  } satisfies ConfigFieldSpec<boolean>,
};

const RANK: Record<ConfigValueSource, number> = { flag: 3, env: 2, file: 1, default: 0 };

export interface ClusterTokenInputs {
  readonly values: { clusterToken: string | undefined; clusterTokenFile: string | undefined; allowUnauthenticated: boolean | undefined };
  readonly origins: { clusterToken: ValueOrigin; clusterTokenFile: ValueOrigin; allowUnauthenticated: ValueOrigin };
}

export interface ResolvedClusterToken {
  /** Undefined only when unauthenticated operation is allowed. */
  readonly clusterToken: string | undefined;
  /** The file the token was read from, if it was. */
  readonly clusterTokenFile: string | undefined;
}

/**
 * The token to use: the token or the token file, whichever comes from the higher source (both
 * from one source is an error); none only when unauthenticated operation is allowed.
 */
export function resolveClusterToken({ values, origins }: ClusterTokenInputs): ResolvedClusterToken {
  const { clusterToken: token, clusterTokenFile: file } = values;
  let useFile = file !== undefined;
  if (token !== undefined && file !== undefined) {
    const tokenRank = RANK[origins.clusterToken.source];
    const fileRank = RANK[origins.clusterTokenFile.source];
    if (tokenRank === fileRank) {
      throw new ConfigurationError(origins.clusterTokenFile.label, `give the token or a token file, not both (the token comes from ${origins.clusterToken.label})`);
    }
    useFile = fileRank > tokenRank;
  }
  if (useFile) return { clusterToken: readTokenFile(file!, origins.clusterTokenFile.label), clusterTokenFile: file };
  if (token !== undefined) return { clusterToken: token, clusterTokenFile: undefined };
  if (values.allowUnauthenticated) return { clusterToken: undefined, clusterTokenFile: undefined };
  throw new ConfigurationError(
    'clusterToken',
    'required: set --cluster-token or SLUICE_CLUSTER_TOKEN (or --cluster-token-file / SLUICE_CLUSTER_TOKEN_FILE, or clusterToken in the config file), ' +
      'or pass --allow-unauthenticated to run the cluster without authentication',
  );
}

function readTokenFile(path: string, label: string): string {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigurationError(label, code === 'ENOENT' ? `token file ${path} does not exist` : `cannot read token file ${path}: ${(error as Error).message}`, { cause: error });
  }
  return clusterToken(content.trim(), `${label} (${path})`);
}
