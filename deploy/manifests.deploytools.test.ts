// The offline checks of deploy/ (no Docker, no cluster: none can run here). The Kubernetes
// manifests are rendered with `kubectl kustomize` (base and the local overlay) and validated
// against the Kubernetes schemas by kubernetes-validate; then what a schema cannot see: every
// Service, PodDisruptionBudget and the PodMonitor selects pods that exist, every port a probe or
// Service names is a container port, every Secret and ConfigMap a pod reads exists with the key
// it reads. The alert rules pass `promtool check rules` and their unit tests (`promtool test
// rules`), the compose Prometheus configuration `promtool check config`; every metric the rules
// and the Grafana dashboards query is one the processes register.
// Tools: scripts/services.d/deploytools.sh (SLUICE_PROMTOOL, SLUICE_KUBECTL, SLUICE_KUBERNETES_VALIDATE).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { CoordinatorMetrics } from '../shared/metrics/coordinator-metrics.ts';
import { createProcessRegistry } from '../shared/metrics/metrics-server.ts';
import { WorkerMetrics } from '../shared/metrics/worker-metrics.ts';
import { ManualClock } from '../shared/clock.ts';

const DEPLOY = dirname(fileURLToPath(import.meta.url));
const KUBERNETES_VERSIONS = ['1.29.0', '1.32.0'];

let promtool: string;
let kubectl: string;
let kubernetesValidate: string;
let dir: string;

function tool(variable: string, fallback: string | undefined): string {
  const path = process.env[variable] ?? fallback;
  if (!path) throw new Error(`${variable} is not set: start the tools with scripts/services.sh start deploytools`);
  return path;
}

function run(command: string, args: string[], input?: string): { status: number; output: string } {
  const result = spawnSync(command, args, { cwd: DEPLOY, encoding: 'utf8', input, maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw new Error(`${command} could not run (${result.error.message}); scripts/services.sh start deploytools installs it`);
  return { status: result.status ?? 1, output: `${result.stdout}${result.stderr}` };
}

function which(name: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

before(() => {
  promtool = tool('SLUICE_PROMTOOL', which('promtool'));
  kubectl = tool('SLUICE_KUBECTL', which('kubectl'));
  kubernetesValidate = tool('SLUICE_KUBERNETES_VALIDATE', which('kubernetes-validate'));
  dir = mkdtempSync(join(tmpdir(), 'sluice-deploy-'));
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// --- Kubernetes ------------------------------------------------------------------------------

interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

/** `kubectl kustomize` of a folder, as YAML and parsed (PyYAML from kubernetes-validate's venv: the repository has no YAML parser). */
function render(folder: string): { yaml: string; resources: Resource[] } {
  const rendered = run(kubectl, ['kustomize', join(DEPLOY, 'kubernetes', folder)]);
  assert.equal(rendered.status, 0, `kubectl kustomize ${folder} failed:\n${rendered.output}`);
  const python = join(dirname(kubernetesValidate), 'python');
  const parsed = run(python, ['-c', 'import sys, json, yaml; json.dump([d for d in yaml.safe_load_all(sys.stdin) if d], sys.stdout)'], rendered.output);
  assert.equal(parsed.status, 0, `the rendered YAML of ${folder} does not parse:\n${parsed.output}`);
  return { yaml: rendered.output, resources: JSON.parse(parsed.output) as Resource[] };
}

function validate(folder: string, yaml: string): string {
  const file = join(dir, `${folder.replaceAll('/', '-')}.yaml`);
  writeFileSync(file, yaml);
  const outputs: string[] = [];
  for (const version of KUBERNETES_VERSIONS) {
    const result = run(kubernetesValidate, ['--strict', '-k', version, file]);
    assert.equal(result.status, 0, `kubernetes-validate --strict -k ${version} rejects ${folder}:\n${result.output}`);
    assert.doesNotMatch(result.output, /ERROR|failed/i, result.output);
    outputs.push(result.output);
  }
  return outputs.join('\n');
}

const podTemplates = (resources: Resource[]) =>
  resources.filter((r) => r.kind === 'Deployment' || r.kind === 'StatefulSet').map((r) => ({ owner: `${r.kind}/${r.metadata.name}`, template: r.spec.template }));

const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);

const containerPorts = (template: any): Set<string | number> =>
  new Set(template.spec.containers.flatMap((c: any) => (c.ports ?? []).flatMap((p: any) => [p.name, p.containerPort])));

/** What a schema cannot check: the references between the resources hold. Returns the problems. */
function crossReferenceProblems(resources: Resource[]): string[] {
  const problems: string[] = [];
  const templates = podTemplates(resources);
  const named = (kind: string, name: string) => resources.find((r) => r.kind === kind && r.metadata.name === name);
  for (const { owner, template } of templates) {
    const own = owner.split('/')[0] === 'Deployment' || owner.split('/')[0] === 'StatefulSet' ? resources.find((r) => `${r.kind}/${r.metadata.name}` === owner)! : undefined;
    if (own && !matches(own.spec.selector.matchLabels, template.metadata.labels)) problems.push(`${owner}: its selector does not match its pod template`);
    const ports = containerPorts(template);
    for (const container of template.spec.containers) {
      for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
        const port = container[probe]?.httpGet?.port;
        if (port !== undefined && !ports.has(port)) problems.push(`${owner}: ${probe} uses port ${port}, which no container declares`);
      }
      for (const source of container.envFrom ?? []) {
        if (source.configMapRef && !named('ConfigMap', source.configMapRef.name)) problems.push(`${owner}: ConfigMap ${source.configMapRef.name} does not exist`);
      }
      for (const variable of container.env ?? []) {
        const ref = variable.valueFrom?.secretKeyRef;
        if (!ref) continue;
        const secret = named('Secret', ref.name);
        if (!secret) problems.push(`${owner}: ${variable.name} reads Secret ${ref.name}, which does not exist`);
        else if (!(ref.key in { ...secret.data, ...secret.stringData })) problems.push(`${owner}: ${variable.name} reads key ${ref.key}, which Secret ${ref.name} lacks`);
      }
    }
    if (template.spec.serviceAccountName && !named('ServiceAccount', template.spec.serviceAccountName)) problems.push(`${owner}: ServiceAccount ${template.spec.serviceAccountName} does not exist`);
    const serviceName = own?.kind === 'StatefulSet' ? own.spec.serviceName : undefined;
    if (serviceName && named('Service', serviceName)?.spec.clusterIP !== 'None') problems.push(`${owner}: its serviceName ${serviceName} is not a headless Service`);
  }
  for (const service of resources.filter((r) => r.kind === 'Service')) {
    const selected = templates.filter(({ template }) => matches(service.spec.selector, template.metadata.labels));
    if (selected.length === 0) problems.push(`Service/${service.metadata.name} selects no pod`);
    for (const port of service.spec.ports) {
      for (const { owner, template } of selected) {
        if (!containerPorts(template).has(port.targetPort ?? port.port)) problems.push(`Service/${service.metadata.name}: port ${port.name} targets ${port.targetPort}, which ${owner} does not declare`);
      }
    }
  }
  for (const budget of resources.filter((r) => r.kind === 'PodDisruptionBudget')) {
    if (!templates.some(({ template }) => matches(budget.spec.selector.matchLabels, template.metadata.labels))) problems.push(`PodDisruptionBudget/${budget.metadata.name} selects no pod`);
  }
  for (const monitor of resources.filter((r) => r.kind === 'PodMonitor')) {
    const selected = templates.filter(({ template }) => matches(monitor.spec.selector.matchLabels, template.metadata.labels));
    const owners = selected.map((s) => s.owner).sort();
    if (!owners.includes('Deployment/sluice-coordinator') || !owners.includes('StatefulSet/sluice-worker')) problems.push(`PodMonitor/${monitor.metadata.name} selects ${owners.join(', ') || 'nothing'}, not every coordinator and worker`);
    for (const endpoint of monitor.spec.podMetricsEndpoints) {
      for (const { owner, template } of selected) if (!containerPorts(template).has(endpoint.port)) problems.push(`PodMonitor/${monitor.metadata.name}: ${owner} has no port ${endpoint.port}`);
    }
  }
  return problems;
}

const mebibytes = (quantity: string): number => {
  const match = /^(\d+)(Mi|Gi)$/.exec(quantity);
  assert.ok(match, `a memory quantity in Mi or Gi, got ${quantity}`);
  return Number(match[1]) * (match[2] === 'Gi' ? 1024 : 1);
};

/** The worker's Node.js heap (NODE_OPTIONS) must fit inside its memory limit, with room to spare. */
function workerHeapFits(resources: Resource[]): void {
  const worker = resources.find((r) => r.kind === 'StatefulSet' && r.metadata.name === 'sluice-worker')!;
  const container = worker.spec.template.spec.containers[0];
  const heap = Number(/--max-old-space-size=(\d+)/.exec(container.env.find((e: any) => e.name === 'NODE_OPTIONS')?.value ?? '')?.[1]);
  const limit = mebibytes(container.resources.limits.memory);
  assert.ok(heap > 0 && heap <= limit * 0.8, `worker heap ${heap} MiB against a ${limit} MiB limit`);
}

describe('deploy/kubernetes, rendered and validated offline', () => {
  it('the base: schemas, references, two coordinators with leader election, KPU-sized workers', () => {
    const { yaml, resources } = render('base');
    const report = validate('base', yaml);
    assert.match(report, /passed for resource statefulset\/sluice-worker/);
    assert.deepEqual(crossReferenceProblems(resources), []);

    const coordinator = resources.find((r) => r.kind === 'Deployment' && r.metadata.name === 'sluice-coordinator')!;
    assert.equal(coordinator.spec.replicas, 2);
    const config = resources.find((r) => r.kind === 'ConfigMap' && r.metadata.name === 'sluice-config')!;
    assert.ok(config.data!.SLUICE_ETCD_ENDPOINTS, 'coordinators elect their leader through etcd');
    const worker = resources.find((r) => r.kind === 'StatefulSet' && r.metadata.name === 'sluice-worker')!;
    const resourcesOfWorker = worker.spec.template.spec.containers[0].resources;
    assert.deepEqual(resourcesOfWorker, { requests: { cpu: '1', memory: '4Gi' }, limits: { cpu: '1', memory: '4Gi' } }, 'a worker is one KPU');
    assert.equal(config.data!.SLUICE_KPUS, '1');
    workerHeapFits(resources);
    for (const { owner, template } of podTemplates(resources)) {
      assert.equal(template.spec.securityContext.runAsNonRoot, true, `${owner} runs as non-root`);
      const container = template.spec.containers[0];
      assert.ok(container.livenessProbe && container.readinessProbe, `${owner} has liveness and readiness probes`);
    }
    const kinds = new Set(resources.map((r) => r.kind));
    for (const kind of ['Service', 'ConfigMap', 'Secret', 'PodDisruptionBudget', 'PodMonitor', 'ServiceAccount']) assert.ok(kinds.has(kind), `the base has a ${kind}`);
  });

  it('the local overlay: the base in its namespace, with a development etcd and S3 store it points at', () => {
    const { yaml, resources } = render('overlays/local');
    validate('overlays/local', yaml);
    assert.deepEqual(crossReferenceProblems(resources), []);
    workerHeapFits(resources);
    for (const r of resources.filter((r) => r.kind !== 'Namespace')) assert.equal(r.metadata.namespace, 'sluice', `${r.kind}/${r.metadata.name} in namespace sluice`);
    const config = resources.find((r) => r.kind === 'ConfigMap' && r.metadata.name === 'sluice-config')!;
    const etcd = resources.find((r) => r.kind === 'StatefulSet' && r.metadata.name === 'sluice-etcd');
    assert.ok(etcd, 'a development etcd StatefulSet');
    const etcdService = resources.find((r) => r.kind === 'Service' && r.metadata.name === config.data!.SLUICE_ETCD_ENDPOINTS!.split(':')[0]);
    assert.ok(etcdService && matches(etcdService.spec.selector, etcd.spec.template.metadata.labels), `SLUICE_ETCD_ENDPOINTS (${config.data!.SLUICE_ETCD_ENDPOINTS}) names the etcd Service`);
    const s3Host = new URL(config.data!.SLUICE_S3_ENDPOINT!).hostname;
    assert.ok(resources.some((r) => r.kind === 'Service' && r.metadata.name === s3Host), `SLUICE_S3_ENDPOINT names the S3 Service ${s3Host}`);
    const secret = resources.find((r) => r.kind === 'Secret')!;
    assert.notEqual(secret.stringData!['cluster-token'], 'replace-me-with-a-long-random-token', 'the overlay sets its own token');
    assert.ok(secret.stringData!['cluster-token']!.length >= 16, 'a cluster token has at least 16 characters');
  });

  it('the cross-reference check finds a broken reference (it can fail)', () => {
    const { resources } = render('base');
    const broken = structuredClone(resources);
    broken.find((r) => r.kind === 'Service' && r.metadata.name === 'sluice-coordinator')!.spec.ports[0].targetPort = 'no-such-port';
    broken.find((r) => r.kind === 'PodMonitor')!.spec.selector.matchLabels = { app: 'other' };
    const problems = crossReferenceProblems(broken);
    assert.equal(problems.length, 2, problems.join('\n'));
  });
});

// --- Prometheus and Grafana ------------------------------------------------------------------

/** Every metric name the processes register: a coordinator's, a worker's and the process metrics. */
function registeredMetricNames(): Set<string> {
  const registry = createProcessRegistry();
  new CoordinatorMetrics(registry, { coordinatorId: 'c' });
  const worker = new WorkerMetrics(registry, { tmId: 'w', clock: new ManualClock(0) });
  worker.close();
  // A histogram or summary is queried by its series' names too.
  return new Set(registry.getMetricsAsArray().flatMap((m) => [m.name, `${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`]));
}

/** The metric names a PromQL expression reads (flink_… and sluice_… identifiers). */
const metricNamesIn = (expr: string): string[] => [...expr.matchAll(/\b((?:flink|sluice)_[A-Za-z0-9_]+)/g)].map((m) => m[1]!);

function dashboardQueries(): Array<{ dashboard: string; panel: string; expr: string }> {
  const folder = join(DEPLOY, 'grafana', 'dashboards');
  return readdirSync(folder)
    .filter((f) => f.endsWith('.json'))
    .flatMap((file) => {
      const dashboard = JSON.parse(readFileSync(join(folder, file), 'utf8'));
      return dashboard.panels.flatMap((panel: any) => panel.targets.map((t: any) => ({ dashboard: dashboard.title as string, panel: panel.title as string, expr: t.expr as string })));
    });
}

describe('deploy/prometheus and deploy/grafana', () => {
  it('the alert rules pass promtool check rules and their unit tests', () => {
    const check = run(promtool, ['check', 'rules', join(DEPLOY, 'prometheus', 'alerts.yml')]);
    assert.equal(check.status, 0, check.output);
    assert.match(check.output, /SUCCESS: \d+ rules found/);
    const tests = run(promtool, ['test', 'rules', join(DEPLOY, 'prometheus', 'alerts.test.yml')]);
    assert.equal(tests.status, 0, tests.output);
    assert.match(tests.output, /SUCCESS/);
  });

  it('the rules cover what the issue asks: no checkpoint, restarts, lag growing, watermark stalled, a worker lost', () => {
    const rules = readFileSync(join(DEPLOY, 'prometheus', 'alerts.yml'), 'utf8');
    for (const alert of ['SluiceNoCheckpoint', 'SluiceJobRestarting', 'SluiceSourceLagGrowing', 'SluiceWatermarkStalled', 'SluiceWorkerLost']) {
      assert.match(rules, new RegExp(`alert: ${alert}\\n`), alert);
      assert.match(readFileSync(join(DEPLOY, 'prometheus', 'alerts.test.yml'), 'utf8'), new RegExp(`alertname: ${alert}\\n`), `${alert} is unit-tested`);
    }
  });

  it('promtool check config accepts the compose Prometheus configuration', () => {
    const check = run(promtool, ['check', 'config', join(DEPLOY, 'prometheus', 'prometheus.yml')]);
    assert.equal(check.status, 0, check.output);
  });

  it('every metric the rules and the dashboards query is one the processes register', () => {
    const registered = registeredMetricNames();
    assert.ok(registered.has('flink_taskmanager_job_task_busyTimeMsPerSecond') && registered.has('sluice_process_cpu_seconds_total'), [...registered].join(' '));
    const queries = [
      ...dashboardQueries(),
      ...[...readFileSync(join(DEPLOY, 'prometheus', 'alerts.yml'), 'utf8').matchAll(/expr: (\|\n(?:\s{10,}.*\n)+|.*)/g)].map((m) => ({ dashboard: 'alerts.yml', panel: '', expr: m[1]! })),
    ];
    assert.ok(queries.length > 20, `${queries.length} queries`);
    const unknown = queries.flatMap((q) => metricNamesIn(q.expr).filter((name) => !registered.has(name)).map((name) => `${q.dashboard} ${q.panel}: ${name}`));
    assert.deepEqual(unknown, []);
  });

  it('the dashboards: an application overview and a cluster view, each panel with a query, Grafana provisioning beside them', () => {
    const queries = dashboardQueries();
    const panels = (dashboard: string) => new Set(queries.filter((q) => q.dashboard === dashboard).map((q) => q.panel));
    const application = panels('Sluice: application overview');
    for (const panel of ['Records in per second', 'Records out per second', 'Source lag (records not read yet)', 'Watermark lag', 'Last checkpoint duration', 'Last checkpoint size', 'Checkpoints completed and failed', 'Restarts', 'Busy time per subtask', 'Back-pressured time per subtask', 'CPU per process', 'Heap used per process']) {
      assert.ok(application.has(panel), `application overview: ${panel}`);
    }
    const cluster = panels('Sluice: cluster');
    for (const panel of ['Coordinators', 'Leader', 'Workers registered', 'Slots']) assert.ok(cluster.has(panel), `cluster view: ${panel}`);
    for (const q of queries) assert.ok(q.expr.trim().length > 0, `${q.dashboard} / ${q.panel} has a query`);
    const provider = readFileSync(join(DEPLOY, 'grafana', 'provisioning', 'dashboards', 'sluice.yml'), 'utf8');
    assert.match(provider, /path: \/var\/lib\/grafana\/dashboards\/sluice/);
    assert.match(readFileSync(join(DEPLOY, 'grafana', 'provisioning', 'datasources', 'prometheus.yml'), 'utf8'), /url: http:\/\/127\.0\.0\.1:27090/);
  });
});
