// The web console: a single page served by the coordinator at /console/, reading the REST API.
export { CONSOLE_PATH, isConsoleRequest, serveConsole } from './console-handler.ts';
