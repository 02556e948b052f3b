import { useCallback, useEffect, useState } from 'preact/hooks'

export interface Resource<T> {
  data: T | undefined
  error: unknown
  loading: boolean
  reload: () => void
}

/** Loads what `load` fetches whenever `deps` change; a newer load aborts the one before. */
export function useResource<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Resource<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true })
  const [generation, setGeneration] = useState(0)
  const reload = useCallback(() => setGeneration((g) => g + 1), [])
  useEffect(() => {
    const abort = new AbortController()
    setState((s) => ({ ...s, loading: true }))
    load(abort.signal).then(
      (data) => !abort.signal.aborted && setState({ data, loading: false }),
      (error: unknown) => !abort.signal.aborted && setState((s) => ({ ...s, error, loading: false }))
    )
    return () => abort.abort()
  }, [...deps, generation])
  return { data: state.data, error: state.error, loading: state.loading, reload }
}
