// The connection settings the Kafka source and sink share (brokers, TLS, SASL PLAIN/SCRAM and MSK
// IAM), the kafkajs client built from them, and the one place that turns kafkajs errors into
// errors naming the connector and the setting to fix (`Kafka source "orders": brokers
// 127.0.0.1:1 unreachable (setting brokers)`).
//
// kafkajs's consumer only reads through consumer-group rebalancing, which Sluice must not use (the
// runtime assigns partitions as splits and keeps offsets in checkpoints). kafkajs's `Cluster`
// (metadata, leaders, ListOffsets, Fetch on the leader's connection) is what its consumer reads
// with; `kafkaCluster` reaches it through the client's private factory, so the cluster gets the
// client's TLS, SASL, retry and socket settings. kafkajs 2.x is final (no further releases), so
// that private shape is stable; it is checked and refused with a clear error if it ever changes.

import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient, KafkaConfig, SASLOptions } from 'kafkajs';
import { generateAuthToken } from 'aws-msk-iam-sasl-signer-js';
import { ConfigurationError, ExternalSystemError, SluiceError } from '../../../shared/errors.ts';

const { Kafka, logLevel } = kafkajs;

export type KafkaSaslOptions =
  | { readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; readonly username: string; readonly password: string }
  /** Amazon MSK IAM: SASL OAUTHBEARER with a token signed by AWS's signer (credentials from the default chain). */
  | { readonly mechanism: 'aws-msk-iam'; readonly region: string; readonly awsProfile?: string };

export interface KafkaConnectionOptions {
  /** `host:port` of one or more brokers. */
  readonly brokers: readonly string[];
  readonly clientId?: string;
  /** true, or Node TLS options (ca, cert, key, servername …). MSK IAM turns it on by default. */
  readonly ssl?: boolean | TlsConnectionOptions;
  readonly sasl?: KafkaSaslOptions;
  /** Default 5000. */
  readonly connectionTimeoutMs?: number;
  /** Default 30000. */
  readonly requestTimeoutMs?: number;
}

export interface ResolvedKafkaConnection {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly ssl: boolean | TlsConnectionOptions | undefined;
  readonly sasl: KafkaSaslOptions | undefined;
  readonly connectionTimeoutMs: number;
  readonly requestTimeoutMs: number;
}

export const CONNECTION_FIELDS = ['brokers', 'clientId', 'ssl', 'sasl', 'connectionTimeoutMs', 'requestTimeoutMs'] as const;

const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512', 'aws-msk-iam'];

/** Checks the connection settings; errors name the field. */
export function resolveConnection(options: KafkaConnectionOptions, defaultClientId: string): ResolvedKafkaConnection {
  const { brokers, sasl } = options;
  if (!Array.isArray(brokers) || brokers.length === 0) throw new ConfigurationError('brokers', 'must be a non-empty array of "host:port" strings');
  brokers.forEach((b, i) => {
    if (typeof b !== 'string' || !/^[^:\s]+:\d{1,5}$/.test(b)) throw new ConfigurationError(`brokers[${i}]`, `must be "host:port", got ${JSON.stringify(b)}`);
  });
  if (sasl !== undefined) {
    if (typeof sasl !== 'object' || sasl === null || !SASL_MECHANISMS.includes(sasl.mechanism)) {
      throw new ConfigurationError('sasl.mechanism', `must be one of ${SASL_MECHANISMS.join(', ')}, got ${JSON.stringify((sasl as { mechanism?: unknown } | null)?.mechanism)}`);
    }
    if (sasl.mechanism === 'aws-msk-iam') {
      if (typeof sasl.region !== 'string' || sasl.region.length === 0) throw new ConfigurationError('sasl.region', 'is needed for aws-msk-iam (the MSK cluster\'s region)');
    } else {
      if (typeof sasl.username !== 'string' || sasl.username.length === 0) throw new ConfigurationError('sasl.username', 'must be a non-empty string');
      if (typeof sasl.password !== 'string') throw new ConfigurationError('sasl.password', 'must be a string');
    }
  }
  const clientId = options.clientId ?? defaultClientId;
  if (typeof clientId !== 'string' || clientId.length === 0) throw new ConfigurationError('clientId', 'must be a non-empty string');
  return {
    brokers: [...brokers],
    clientId,
    ssl: options.ssl ?? (sasl?.mechanism === 'aws-msk-iam' ? true : undefined),
    sasl,
    connectionTimeoutMs: positiveMs('connectionTimeoutMs', options.connectionTimeoutMs, 5000),
    requestTimeoutMs: positiveMs('requestTimeoutMs', options.requestTimeoutMs, 30_000),
  };
}

export function positiveMs(field: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) throw new ConfigurationError(field, `must be a positive integer (ms), got ${String(value)}`);
  return value;
}

/** For logs: the settings with the password replaced. */
export function redactedConnection(connection: ResolvedKafkaConnection): Record<string, unknown> {
  const { sasl, ssl, ...rest } = connection;
  return { ...rest, ssl: ssl === undefined ? false : ssl === true ? true : 'custom', sasl: sasl === undefined ? 'none' : sasl.mechanism === 'aws-msk-iam' ? { mechanism: sasl.mechanism, region: sasl.region } : { mechanism: sasl.mechanism, username: sasl.username, password: '***' } };
}

function saslConfig(sasl: KafkaSaslOptions): SASLOptions {
  if (sasl.mechanism === 'aws-msk-iam') {
    const { region, awsProfile } = sasl;
    return {
      mechanism: 'oauthbearer',
      oauthBearerProvider: async () => {
        const { token } = await generateAuthToken(awsProfile === undefined ? { region } : { region, awsProfileName: awsProfile });
        return { value: token };
      },
    };
  }
  return { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password } as SASLOptions;
}

/** A kafkajs client for these settings; `retries` bounds how long an unreachable broker is retried. */
export function kafkaClient(connection: ResolvedKafkaConnection, retries = 3): KafkaClient {
  const config: KafkaConfig = {
    clientId: connection.clientId,
    brokers: [...connection.brokers],
    connectionTimeout: connection.connectionTimeoutMs,
    requestTimeout: connection.requestTimeoutMs,
    logLevel: logLevel.NOTHING,
    retry: { retries, initialRetryTime: 200, maxRetryTime: 5000 },
  };
  if (connection.ssl !== undefined) config.ssl = connection.ssl;
  if (connection.sasl !== undefined) config.sasl = saslConfig(connection.sasl);
  return new Kafka(config);
}

/** The parts of kafkajs's internal Cluster that the connectors use. */
export interface KafkaCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  refreshMetadata(): Promise<void>;
  addMultipleTargetTopics(topics: string[]): Promise<void>;
  findTopicPartitionMetadata(topic: string): Array<{ partitionId: number; leader: number }>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(args: { nodeId: string }): Promise<KafkaBroker>;
  findGroupCoordinator(args: { groupId: string }): Promise<KafkaBroker>;
  fetchTopicsOffset(topics: Array<{ topic: string; partitions: Array<{ partition: number }>; fromBeginning?: boolean; fromTimestamp?: number }>): Promise<Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>>;
  metadata(args?: { topics?: string[] }): Promise<{ topicMetadata: Array<{ topic: string; partitionMetadata: Array<{ partitionId: number }> }> }>;
}

export interface KafkaBroker {
  fetch(request: {
    isolationLevel: number;
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: Array<{ topic: string; partitions: Array<{ partition: number; fetchOffset: string; maxBytes: number }> }>;
  }): Promise<{ responses: Array<{ topicName: string; partitions: RawPartitionData[] }> }>;
  offsetCommit(request: { groupId: string; groupGenerationId: number; memberId: string; topics: Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }> }): Promise<unknown>;
}

export interface RawMessage {
  readonly offset: string;
  readonly timestamp: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, Buffer | Buffer[] | undefined>;
  readonly isControlRecord: boolean;
  /** The record batch the record came in (absent in old message-set formats). */
  readonly batchContext?: { readonly firstOffset: string; readonly lastOffsetDelta: number; readonly producerId?: string; readonly inTransaction?: boolean };
}

export interface RawPartitionData {
  readonly partition: number;
  readonly highWatermark: string;
  readonly lastStableOffset?: string;
  readonly abortedTransactions?: ReadonlyArray<{ producerId: string; firstOffset: string }>;
  readonly messages: RawMessage[];
}

export const READ_COMMITTED = 1;
export const READ_UNCOMMITTED = 0;

/** kafkajs's Cluster for a client, made with its private factory (see the header). */
export function kafkaCluster(client: KafkaClient, options: { isolationLevel: number }): KafkaCluster {
  const factorySymbol = Object.getOwnPropertySymbols(client).find((s) => s.description === 'private:Kafka:createCluster');
  const factory = factorySymbol === undefined ? undefined : (client as unknown as Record<symbol, unknown>)[factorySymbol];
  if (typeof factory !== 'function') {
    throw new SluiceError('the installed kafkajs has no private createCluster factory; the Kafka connectors need kafkajs 2.x');
  }
  return factory({ metadataMaxAge: 60_000, allowAutoTopicCreation: false, isolationLevel: options.isolationLevel }) as KafkaCluster;
}

/**
 * Turns a kafkajs error into one that names the connector and the setting: unreachable brokers
 * (brokers), failed authentication (sasl), a missing topic (`topicField`), refused access; anything
 * else is an ExternalSystemError with the kafkajs message.
 */
export function describeKafkaFailure(connector: string, connection: ResolvedKafkaConnection, error: unknown, what: string, topicField = 'topics'): SluiceError {
  if (error instanceof SluiceError) return error;
  const chain = errorChain(error);
  const text = chain.map((e) => `${e.name}: ${e.message} ${(e as { type?: string }).type ?? ''}`).join(' | ');
  const brokers = connection.brokers.join(',');
  if (chain.some((e) => e.name === 'KafkaJSSASLAuthenticationError') || /SASL|Authentication failed/i.test(text)) {
    const mechanism = connection.sasl?.mechanism ?? 'none';
    return new ConfigurationError('sasl', `${connector}: authentication to ${brokers} failed with mechanism ${mechanism}${connection.sasl && 'username' in connection.sasl ? ` as user "${connection.sasl.username}"` : ''} while ${what}: ${lastMessage(chain)} (check setting sasl)`, { cause: error });
  }
  if (/UNKNOWN_TOPIC_OR_PARTITION|does not host this topic-partition|This server does not host/i.test(text)) {
    return new ConfigurationError(topicField, `${connector}: a topic does not exist on ${brokers} while ${what} (setting ${topicField}; create the topic first, topics are not created on use)`, { cause: error });
  }
  if (/TOPIC_AUTHORIZATION_FAILED|GROUP_AUTHORIZATION_FAILED|TRANSACTIONAL_ID_AUTHORIZATION_FAILED|CLUSTER_AUTHORIZATION_FAILED/.test(text)) {
    return new ConfigurationError('sasl', `${connector}: access refused by ${brokers} while ${what}: ${lastMessage(chain)} (the principal of setting sasl lacks an ACL)`, { cause: error });
  }
  if (chain.some((e) => e.name === 'KafkaJSConnectionError' || e.name === 'KafkaJSBrokerNotFound') || /ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|Connection timeout|Closed connection/i.test(text)) {
    return new ExternalSystemError(`${connector}: brokers ${brokers} unreachable while ${what}: ${lastMessage(chain)} (setting brokers)`, { cause: error, retriable: true });
  }
  return new ExternalSystemError(`${connector}: ${what} failed on ${brokers}: ${lastMessage(chain)}`, { cause: error, retriable: true });
}

function errorChain(error: unknown): Error[] {
  const chain: Error[] = [];
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 8; depth++) {
    chain.push(current);
    current = current.cause ?? (current as { originalError?: unknown }).originalError;
  }
  if (chain.length === 0) chain.push(new Error(String(error)));
  return chain;
}

function lastMessage(chain: Error[]): string {
  return chain[chain.length - 1]!.message;
}
