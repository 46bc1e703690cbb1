// A stand-in for hashicorp/archive, for `terraform validate` only (test/infra-terraform): the
// registry is out of reach on the test machines and the Go module proxy does not serve the real
// provider. It declares the `archive_file` data source's schema as hashicorp/archive 2.x has it and
// does nothing else: it never reads or writes a file.
package main

import (
	"context"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	providerschema "github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

type archiveProvider struct{}

func (archiveProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "archive"
}

func (archiveProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = providerschema.Schema{}
}

func (archiveProvider) Configure(context.Context, provider.ConfigureRequest, *provider.ConfigureResponse) {}

func (archiveProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{func() datasource.DataSource { return archiveFile{} }}
}

func (archiveProvider) Resources(context.Context) []func() resource.Resource { return nil }

type archiveFile struct{}

func (archiveFile) Metadata(_ context.Context, _ datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = "archive_file"
}

func (archiveFile) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	computed := func() schema.StringAttribute { return schema.StringAttribute{Computed: true} }
	resp.Schema = schema.Schema{
		Attributes: map[string]schema.Attribute{
			"id":                          computed(),
			"type":                        schema.StringAttribute{Required: true},
			"source_content":              schema.StringAttribute{Optional: true},
			"source_content_filename":     schema.StringAttribute{Optional: true},
			"source_file":                 schema.StringAttribute{Optional: true},
			"source_dir":                  schema.StringAttribute{Optional: true},
			"excludes":                    schema.SetAttribute{ElementType: types.StringType, Optional: true},
			"exclude_symlink_directories": schema.BoolAttribute{Optional: true},
			"output_path":                 schema.StringAttribute{Required: true},
			"output_file_mode":            schema.StringAttribute{Optional: true},
			"output_size":                 schema.Int64Attribute{Computed: true},
			"output_sha":                  computed(),
			"output_sha256":               computed(),
			"output_base64sha256":         computed(),
			"output_sha512":               computed(),
			"output_base64sha512":         computed(),
			"output_md5":                  computed(),
		},
		Blocks: map[string]schema.Block{
			"source": schema.SetNestedBlock{
				NestedObject: schema.NestedBlockObject{
					Attributes: map[string]schema.Attribute{
						"content":  schema.StringAttribute{Required: true},
						"filename": schema.StringAttribute{Required: true},
					},
				},
			},
		},
	}
}

func (archiveFile) Read(_ context.Context, _ datasource.ReadRequest, resp *datasource.ReadResponse) {
	resp.Diagnostics.AddError("validation stand-in", "this archive provider only declares schemas for `terraform validate`; it cannot read or plan")
}

func main() {
	err := providerserver.Serve(context.Background(), func() provider.Provider { return archiveProvider{} }, providerserver.ServeOpts{
		Address: "registry.terraform.io/hashicorp/archive",
	})
	if err != nil {
		log.Fatal(err)
	}
}
