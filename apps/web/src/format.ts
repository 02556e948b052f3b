const formats = new Map<string, Intl.NumberFormat>()

/** An amount in minor units (cents) as a person reads it. */
export function money(minor: number, currency: string): string {
  let format = formats.get(currency)
  if (!format) {
    format = new Intl.NumberFormat(undefined, { style: 'currency', currency })
    formats.set(currency, format)
  }
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2
  return format.format(minor / 10 ** digits)
}

export function when(iso: string): string {
  return new Date(iso).toLocaleString()
}
