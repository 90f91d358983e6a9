/** The top-level keys of a CNCF config.yml (and regctl's); other `REGISTRY_*` variables are not config. */
const TOP_LEVEL_KEYS = new Set([
  'version', 'log', 'loglevel', 'storage', 'auth', 'middleware', 'reporting', 'http', 'notifications',
  'redis', 'health', 'proxy', 'validation', 'compatibility', 'catalog', 'policy', 'regctl',
]);

/** `REGISTRY_HTTP_ADDR` and the like: a variable that overrides a setting of the file. */
export function isConfigVariable(name: string): boolean {
  return name.startsWith('REGISTRY_') && TOP_LEVEL_KEYS.has(name.slice(9).split('_')[0]!.toLowerCase());
}
