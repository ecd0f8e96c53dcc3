// The operations of the kinesisanalyticsv2 API (2018-05-23), with the SDK's own request and
// response types, so the application service implements exactly what the SDK sends and parses.
// The types are imported as types only: the SDK is a development dependency and nothing of it
// runs in the coordinator. The list is checked against the SDK's commands in the test.

import type * as sdk from '@aws-sdk/client-kinesis-analytics-v2';

export const KINESIS_ANALYTICS_OPERATIONS = [
  'AddApplicationCloudWatchLoggingOption',
  'AddApplicationInput',
  'AddApplicationInputProcessingConfiguration',
  'AddApplicationOutput',
  'AddApplicationReferenceDataSource',
  'AddApplicationVpcConfiguration',
  'CreateApplication',
  'CreateApplicationPresignedUrl',
  'CreateApplicationSnapshot',
  'DeleteApplication',
  'DeleteApplicationCloudWatchLoggingOption',
  'DeleteApplicationInputProcessingConfiguration',
  'DeleteApplicationOutput',
  'DeleteApplicationReferenceDataSource',
  'DeleteApplicationSnapshot',
  'DeleteApplicationVpcConfiguration',
  'DescribeApplication',
  'DescribeApplicationOperation',
  'DescribeApplicationSnapshot',
  'DescribeApplicationVersion',
  'DiscoverInputSchema',
  'ListApplicationOperations',
  'ListApplications',
  'ListApplicationSnapshots',
  'ListApplicationVersions',
  'ListTagsForResource',
  'RollbackApplication',
  'StartApplication',
  'StopApplication',
  'TagResource',
  'UntagResource',
  'UpdateApplication',
  'UpdateApplicationMaintenanceConfiguration',
] as const;

export type KinesisAnalyticsOperationName = (typeof KINESIS_ANALYTICS_OPERATIONS)[number];

const OPERATION_NAMES: ReadonlySet<string> = new Set(KINESIS_ANALYTICS_OPERATIONS);

export function isKinesisAnalyticsOperation(name: string): name is KinesisAnalyticsOperationName {
  return OPERATION_NAMES.has(name);
}

/** Each operation's request and response, as the SDK declares them. */
export interface KinesisAnalyticsOperationTypes {
  AddApplicationCloudWatchLoggingOption: { input: sdk.AddApplicationCloudWatchLoggingOptionRequest; output: sdk.AddApplicationCloudWatchLoggingOptionResponse };
  AddApplicationInput: { input: sdk.AddApplicationInputRequest; output: sdk.AddApplicationInputResponse };
  AddApplicationInputProcessingConfiguration: {
    input: sdk.AddApplicationInputProcessingConfigurationRequest;
    output: sdk.AddApplicationInputProcessingConfigurationResponse;
  };
  AddApplicationOutput: { input: sdk.AddApplicationOutputRequest; output: sdk.AddApplicationOutputResponse };
  AddApplicationReferenceDataSource: { input: sdk.AddApplicationReferenceDataSourceRequest; output: sdk.AddApplicationReferenceDataSourceResponse };
  AddApplicationVpcConfiguration: { input: sdk.AddApplicationVpcConfigurationRequest; output: sdk.AddApplicationVpcConfigurationResponse };
  CreateApplication: { input: sdk.CreateApplicationRequest; output: sdk.CreateApplicationResponse };
  CreateApplicationPresignedUrl: { input: sdk.CreateApplicationPresignedUrlRequest; output: sdk.CreateApplicationPresignedUrlResponse };
  CreateApplicationSnapshot: { input: sdk.CreateApplicationSnapshotRequest; output: sdk.CreateApplicationSnapshotResponse };
  DeleteApplication: { input: sdk.DeleteApplicationRequest; output: sdk.DeleteApplicationResponse };
  DeleteApplicationCloudWatchLoggingOption: {
    input: sdk.DeleteApplicationCloudWatchLoggingOptionRequest;
    output: sdk.DeleteApplicationCloudWatchLoggingOptionResponse;
  };
  DeleteApplicationInputProcessingConfiguration: {
    input: sdk.DeleteApplicationInputProcessingConfigurationRequest;
    output: sdk.DeleteApplicationInputProcessingConfigurationResponse;
  };
  DeleteApplicationOutput: { input: sdk.DeleteApplicationOutputRequest; output: sdk.DeleteApplicationOutputResponse };
  DeleteApplicationReferenceDataSource: { input: sdk.DeleteApplicationReferenceDataSourceRequest; output: sdk.DeleteApplicationReferenceDataSourceResponse };
  DeleteApplicationSnapshot: { input: sdk.DeleteApplicationSnapshotRequest; output: sdk.DeleteApplicationSnapshotResponse };
  DeleteApplicationVpcConfiguration: { input: sdk.DeleteApplicationVpcConfigurationRequest; output: sdk.DeleteApplicationVpcConfigurationResponse };
  DescribeApplication: { input: sdk.DescribeApplicationRequest; output: sdk.DescribeApplicationResponse };
  DescribeApplicationOperation: { input: sdk.DescribeApplicationOperationRequest; output: sdk.DescribeApplicationOperationResponse };
  DescribeApplicationSnapshot: { input: sdk.DescribeApplicationSnapshotRequest; output: sdk.DescribeApplicationSnapshotResponse };
  DescribeApplicationVersion: { input: sdk.DescribeApplicationVersionRequest; output: sdk.DescribeApplicationVersionResponse };
  DiscoverInputSchema: { input: sdk.DiscoverInputSchemaRequest; output: sdk.DiscoverInputSchemaResponse };
  ListApplicationOperations: { input: sdk.ListApplicationOperationsRequest; output: sdk.ListApplicationOperationsResponse };
  ListApplications: { input: sdk.ListApplicationsRequest; output: sdk.ListApplicationsResponse };
  ListApplicationSnapshots: { input: sdk.ListApplicationSnapshotsRequest; output: sdk.ListApplicationSnapshotsResponse };
  ListApplicationVersions: { input: sdk.ListApplicationVersionsRequest; output: sdk.ListApplicationVersionsResponse };
  ListTagsForResource: { input: sdk.ListTagsForResourceRequest; output: sdk.ListTagsForResourceResponse };
  RollbackApplication: { input: sdk.RollbackApplicationRequest; output: sdk.RollbackApplicationResponse };
  StartApplication: { input: sdk.StartApplicationRequest; output: sdk.StartApplicationResponse };
  StopApplication: { input: sdk.StopApplicationRequest; output: sdk.StopApplicationResponse };
  TagResource: { input: sdk.TagResourceRequest; output: sdk.TagResourceResponse };
  UntagResource: { input: sdk.UntagResourceRequest; output: sdk.UntagResourceResponse };
  UpdateApplication: { input: sdk.UpdateApplicationRequest; output: sdk.UpdateApplicationResponse };
  UpdateApplicationMaintenanceConfiguration: {
    input: sdk.UpdateApplicationMaintenanceConfigurationRequest;
    output: sdk.UpdateApplicationMaintenanceConfigurationResponse;
  };
}

/**
 * The request of `K` as the caller sent it: typed as the SDK's request, but only a parsed JSON
 * object with timestamps and blobs in their types. Nothing has checked the fields yet.
 */
export type OperationInput<K extends KinesisAnalyticsOperationName> = KinesisAnalyticsOperationTypes[K]['input'];
export type OperationOutput<K extends KinesisAnalyticsOperationName> = KinesisAnalyticsOperationTypes[K]['output'];

/**
 * The members of each request whose wire type is not their JSON type: a timestamp travels as
 * epoch seconds, a blob as base64. Paths of member names from the request; the test walks the
 * SDK's schemas to check that no other request has one.
 */
export interface WireMembers {
  readonly timestamps?: readonly (readonly string[])[];
  readonly blobs?: readonly (readonly string[])[];
}

export const INPUT_WIRE_MEMBERS: { readonly [K in KinesisAnalyticsOperationName]?: WireMembers } = {
  CreateApplication: { blobs: [['ApplicationConfiguration', 'ApplicationCodeConfiguration', 'CodeContent', 'ZipFileContent']] },
  UpdateApplication: { blobs: [['ApplicationConfigurationUpdate', 'ApplicationCodeConfigurationUpdate', 'CodeContentUpdate', 'ZipFileContentUpdate']] },
  DeleteApplication: { timestamps: [['CreateTimestamp']] },
  DeleteApplicationSnapshot: { timestamps: [['SnapshotCreationTimestamp']] },
};

/** The application an operation acts on, for authorization: its `ApplicationName`, or the name in a tag operation's `ResourceARN`. */
export function applicationNameOf(input: Readonly<Record<string, unknown>>): string | undefined {
  if (typeof input.ApplicationName === 'string') return input.ApplicationName;
  if (typeof input.ResourceARN === 'string') {
    // arn:<partition>:kinesisanalytics:<region>:<account>:application/<name>
    const match = /^arn:[^:]+:kinesisanalytics:[^:]*:[^:]*:application\/(.+)$/.exec(input.ResourceARN);
    // An ARN that names no application is a resource only a key allowed on every application may touch.
    return match ? match[1]! : input.ResourceARN;
  }
  return undefined;
}
