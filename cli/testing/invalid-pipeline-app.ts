// A test application whose pipeline is invalid: two operators share a uid.

import type { Application } from 'sluice';

const app: Application = (env) => {
  env.fromElements(1, 2, 3).map((x) => x * 2).uid('twice').map((x) => x + 1).uid('twice').print();
};

export default app;
