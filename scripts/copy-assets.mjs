// tsc compiles TypeScript only; the SQL migrations ship beside the compiled migrator.
import { cpSync } from 'node:fs'
cpSync('src/storage/migrations', 'dist/storage/migrations', { recursive: true })
