import { Events } from '@platform/contracts'
import { createEventCodec } from '@platform/messaging'

/** The platform's events, made and read against their contracts (@platform/contracts). */
export const events = createEventCodec(Events)
