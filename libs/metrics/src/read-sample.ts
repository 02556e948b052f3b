/**
 * The value of the sample `name` in Prometheus text exposition whose labels include all of
 * `labels` (in any order), or undefined. For tests and scripts that read `/metrics`.
 */
export function readSample(
  text: string,
  name: string,
  labels: Record<string, string> = {}
): number | undefined {
  const line = text
    .split('\n')
    .find(
      (l) =>
        (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) &&
        Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`))
    )
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1))
}
