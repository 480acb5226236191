package userinfo

import "github.com/ciamkit/userinfo/schema"

// RegistrySet exposes the compiled schema.Set of r to the external tests,
// so that the reference handler of reference_bench_test.go validates with
// the same compiled schema as the Handler.
func RegistrySet(r *Registry) *schema.Set { return r.set }
