package cloudbuild

import (
	cloudbuild "cloud.google.com/go/cloudbuild/apiv1/v2"
	"cloud.google.com/go/cloudbuild/apiv1/v2/cloudbuildpb"
	"cloud.google.com/go/longrunning/autogen/longrunningpb"
)

var _ = cloudbuild.NewClient
var _ cloudbuildpb.CloudBuildServer
var _ longrunningpb.OperationsServer
