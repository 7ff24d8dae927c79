// SPEC section 8 naming for mutation results: `<Name>Result` =
// `<Name>Success { <dataField> } | errors`.
import { ConflictError } from "../errors.ts";
import { BASE_MUTATION_ERRORS } from "./errors.ts";

export function mutationResult(name: string, dataField: string, options: { conflict?: boolean } = {}) {
  return {
    types: options.conflict ? [...BASE_MUTATION_ERRORS, ConflictError] : [...BASE_MUTATION_ERRORS],
    result: { name: `${name}Success` },
    union: { name: `${name}Result` },
    dataField: { name: dataField },
  };
}
