// What the checkpoint metadata records of each operator of a plan: its name, parallelism and
// max parallelism, by uid.

import type { JobPlan } from './job-plan.ts';

export interface OperatorInfo {
  readonly name: string;
  readonly parallelism: number;
  readonly maxParallelism: number;
}

/** uid → what the checkpoint metadata records of each operator of the plan. */
export function operatorInfoOf(plan: JobPlan): Map<string, OperatorInfo> {
  const info = new Map<string, OperatorInfo>();
  for (const node of plan.graph.nodes) {
    info.set(plan.uidOf.get(node.id)!, { name: node.name, parallelism: plan.parallelismOf.get(node.id)!, maxParallelism: plan.maxParallelismOf.get(node.id)! });
  }
  return info;
}
