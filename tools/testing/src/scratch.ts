import { randomUUID } from 'node:crypto'
import { Kafka, logLevel } from 'kafkajs'
import pg from 'pg'
import { databaseUrl, stack } from './stack.ts'

/**
 * A throwaway schema in a service database (catalog by default), and a connection string whose
 * search_path points at it, so tests share the real server without seeing each other's tables.
 */
export async function scratchSchema(
  db: string = 'catalog'
): Promise<{ url: string; schema: string; drop: () => Promise<void> }> {
  const schema = `test_${randomUUID().replaceAll('-', '').slice(0, 12)}`
  const admin = new pg.Client({ connectionString: databaseUrl(db) })
  await admin.connect()
  await admin.query(`CREATE SCHEMA ${schema}`)
  await admin.end()
  const url = `${databaseUrl(db)}?options=${encodeURIComponent(`-c search_path=${schema}`)}`
  return {
    url,
    schema,
    drop: async () => {
      const c = new pg.Client({ connectionString: databaseUrl(db) })
      await c.connect()
      await c.query(`DROP SCHEMA ${schema} CASCADE`)
      await c.end()
    }
  }
}

/** Topics of the test's own on the real broker (auto-creation is off), deleted by `drop()`. */
export async function scratchTopics(names: string[], partitions = 3): Promise<{ drop: () => Promise<void> }> {
  const kafka = new Kafka({ clientId: 'tests', brokers: stack.kafka.brokers, logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({
    waitForLeaders: true,
    topics: names.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 }))
  })
  return {
    drop: async () => {
      await admin.deleteTopics({ topics: names }).catch(() => {})
      await admin.disconnect()
    }
  }
}
