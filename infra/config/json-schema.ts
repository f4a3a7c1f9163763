import { z } from "zod";

/** The subset of JSON Schema that `z.toJSONSchema` emits and the platform reads. */
export interface JsonSchema {
  type?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  $ref?: string;
}

const cache = new WeakMap<z.ZodType, JsonSchema>();

/**
 * A schema's input side (what a stack file may write) as JSON Schema, through zod's public
 * `z.toJSONSchema`: the one way this code looks inside a schema, instead of walking zod's private
 * definitions. A transform has no JSON Schema; its input is described (`unrepresentable: "any"`).
 */
export function inputJsonSchema(schema: z.ZodType): JsonSchema {
  let json = cache.get(schema);
  if (!json) {
    json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema;
    cache.set(schema, json);
  }
  return json;
}

/** The node at `path` (object keys, record names, list indexes), or undefined where the schema has none. */
export function jsonSchemaAt(root: JsonSchema, path: readonly PropertyKey[]): JsonSchema | undefined {
  let node: JsonSchema | undefined = root;
  for (const segment of path) {
    if (!node) return undefined;
    if (node.properties) node = node.properties[String(segment)];
    else if (typeof node.additionalProperties === "object") node = node.additionalProperties;
    else if (node.items) node = node.items;
    else return undefined;
  }
  return node;
}
