// The product resource is part of the public API contract (@platform/contracts).
export {
  ProductInputSchema,
  ProductPatchSchema,
  ProductSchema,
  type Product,
  type ProductInput,
  type ProductPatch
} from '@platform/contracts'

export type SortKey = 'name' | 'price'
