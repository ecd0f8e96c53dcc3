// The one error of fetching application code: the archive at a location is missing, corrupt, or
// not what its manifest (or the caller) says. It is an ApplicationLoadError, so the REST and gRPC
// mappings treat it as the caller's to fix; the message names the location.

import { ApplicationLoadError, type SluiceErrorOptions } from '../errors.ts';

export class ApplicationCodeError extends ApplicationLoadError {
  constructor(readonly location: string, detail: string, options?: SluiceErrorOptions) {
    super(`application code ${location}: ${detail}`, options);
  }
}
