locals {
  # The routes of docs/api/openapi.yaml. Each one: CUSTOM auth with the API-key authorizer, AWS_PROXY to upload_api.
  routes = {
    "POST /v1/uploads"             = { resource = "uploads", method = "POST", path_params = [] }
    "PUT /v1/images"               = { resource = "images", method = "PUT", path_params = [] }
    "GET /v1/images"               = { resource = "images", method = "GET", path_params = [] }
    "GET /v1/images/{image_id}"    = { resource = "image", method = "GET", path_params = ["image_id"] }
    "DELETE /v1/images/{image_id}" = { resource = "image", method = "DELETE", path_params = ["image_id"] }
  }
  request_validation = { parameters = true, body = false }

  integration = {
    type                 = "AWS_PROXY"
    http_method          = "POST"
    timeout_milliseconds = 29000
  }

  resource_ids = {
    uploads = aws_api_gateway_resource.uploads.id
    images  = aws_api_gateway_resource.images.id
    image   = aws_api_gateway_resource.image.id
  }

  # Errors API Gateway answers itself, in the API's error shape (openapi.yaml components.schemas.Error).
  # $context.error.messageString is already a quoted JSON string. DEFAULT_* keep the status of the actual error.
  # MISSING_AUTHENTICATION_TOKEN is what a REST API answers for a path or method it does not have (this API signs
  # nothing with SigV4, so it never means anything else): 404 not_found, as the spec and the local gateway say,
  # instead of API Gateway's misleading 403.
  gateway_responses = {
    UNAUTHORIZED                 = { status_code = "401", code = "unauthorized", message = null }
    ACCESS_DENIED                = { status_code = "403", code = "forbidden", message = null }
    MISSING_AUTHENTICATION_TOKEN = { status_code = "404", code = "not_found", message = "no such route" }
    THROTTLED                    = { status_code = "429", code = "throttled", message = null }
    REQUEST_TOO_LARGE            = { status_code = "413", code = "too_large", message = null }
    DEFAULT_4XX                  = { status_code = null, code = "bad_request", message = null }
    DEFAULT_5XX                  = { status_code = null, code = "internal_error", message = null }
  }

  gateway_response_templates = {
    for type, r in local.gateway_responses :
    type => "{\"error\": {\"code\": \"${r.code}\", \"message\": ${r.message == null ? "$context.error.messageString" : jsonencode(r.message)}, \"request_id\": \"$context.requestId\"}}"
  }

  # One JSON line per request. Identifies the caller by key id (the authorizer's principalId), never by key;
  # no headers, no query strings, no bodies.
  access_log_format = {
    requestId          = "$context.requestId"
    ip                 = "$context.identity.sourceIp"
    caller             = "$context.identity.caller"
    keyId              = "$context.authorizer.principalId"
    requestTime        = "$context.requestTime"
    httpMethod         = "$context.httpMethod"
    resourcePath       = "$context.resourcePath"
    status             = "$context.status"
    protocol           = "$context.protocol"
    responseLength     = "$context.responseLength"
    integrationLatency = "$context.integrationLatency"
    authorizerError    = "$context.authorizer.error"
    wafStatus          = "$context.waf.status"
  }
  binary_media_types = ["image/*"]
  cors_enabled       = length(var.cors_allowed_origins) > 0

  cors_resources = local.cors_enabled ? {
    "/v1/uploads"           = { resource_id = aws_api_gateway_resource.uploads.id, methods = "OPTIONS,POST" }
    "/v1/images"            = { resource_id = aws_api_gateway_resource.images.id, methods = "GET,OPTIONS,PUT" }
    "/v1/images/{image_id}" = { resource_id = aws_api_gateway_resource.image.id, methods = "DELETE,GET,OPTIONS" }
  } : {}

  cors_static_headers = {
    "method.response.header.Access-Control-Allow-Headers" = "'authorization,content-type,x-api-key'"
    "method.response.header.Access-Control-Max-Age"       = "'600'"
    "method.response.header.Vary"                         = "'Origin'"
  }

  # Preflight answer: the request's Origin is echoed only when it is one of cors_allowed_origins (a static
  # header cannot name several origins, and "*" is never used). Origins are validated, so they embed safely.
  cors_response_template = join("\n", [
    "#set($origin = $input.params().header.get('Origin'))",
    "#if(\"$!origin\" == \"\")#set($origin = $input.params().header.get('origin'))#end",
    "#set($allowed = [${join(", ", [for o in var.cors_allowed_origins : "'${o}'"])}])",
    "#if($allowed.contains($origin))",
    "#set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)",
    "#end",
  ])
}

locals {
  # Everything a deployment snapshots, taken from configuration (the providers' read-back values differ in
  # representation, e.g. an unset status_code reads back as "", an empty request_parameters map as null, which
  # would redeploy on every plan) plus the ids of the API objects (a replaced object redeploys too).
  deployment_fingerprint = {
    binary_media_types = var.set_binary_media_types ? local.binary_media_types : []
    authorizer         = local.authorizer
    request_validation = local.request_validation
    routes             = local.routes
    integration        = local.integration
    upload_api_uri     = module.function["upload_api"].alias_invoke_arn
    authorizer_uri     = module.function["api_authorizer"].alias_invoke_arn
    gateway_responses  = { for k, r in local.gateway_responses : k => [r.status_code, local.gateway_response_templates[k]] }
    cors               = [local.cors_response_template, local.cors_static_headers, { for k, c in local.cors_resources : k => c.methods }]
    ids = concat(
      [
        aws_api_gateway_resource.v1.id,
        aws_api_gateway_resource.uploads.id,
        aws_api_gateway_resource.images.id,
        aws_api_gateway_resource.image.id,
        aws_api_gateway_authorizer.api_key.id,
        aws_api_gateway_request_validator.parameters.id,
      ],
      [for k in sort(keys(local.routes)) : aws_api_gateway_method.this[k].id],
      [for k in sort(keys(local.routes)) : aws_api_gateway_integration.this[k].id],
      [for k in sort(keys(local.gateway_responses)) : aws_api_gateway_gateway_response.this[k].id],
      [for k in sort(keys(local.cors_resources)) : aws_api_gateway_integration_response.cors[k].id],
    )
  }
}

################################################################################
# REST API
################################################################################

resource "aws_api_gateway_rest_api" "this" {
  name        = local.api_name
  description = "${var.name_prefix}: authenticated image ingestion API"
  # Direct uploads send image bytes: API Gateway hands bodies of these types to the proxy integration base64-encoded.
  # null (only with set_binary_media_types = false, for moto) leaves the attribute unmanaged.
  binary_media_types = var.set_binary_media_types ? local.binary_media_types : null
  # With a custom domain (TLS 1.2 policy), the default execute-api endpoint is closed: clients cannot go around it.
  disable_execute_api_endpoint = var.custom_domain != null

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  tags = merge(var.tags, { Name = local.api_name })

  # Should the API ever be replaced, the new one is built (and deployed) before the old one goes away.
  lifecycle {
    create_before_destroy = true
  }
}

# Requests missing a declared required parameter are refused by API Gateway (400, DEFAULT_4XX) before the
# function runs. Bodies are validated by upload_api against docs/api/openapi.yaml, which answers 415/422 with
# codes API Gateway could not produce.
resource "aws_api_gateway_request_validator" "parameters" {
  name                        = "${local.api_name}-parameters"
  rest_api_id                 = aws_api_gateway_rest_api.this.id
  validate_request_parameters = local.request_validation.parameters
  validate_request_body       = local.request_validation.body
}

resource "aws_api_gateway_resource" "v1" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_rest_api.this.root_resource_id
  path_part   = "v1"
}

resource "aws_api_gateway_resource" "uploads" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.v1.id
  path_part   = "uploads"
}

resource "aws_api_gateway_resource" "images" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.v1.id
  path_part   = "images"
}

resource "aws_api_gateway_resource" "image" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.images.id
  path_part   = "{image_id}"
}

resource "aws_api_gateway_method" "this" {
  for_each = local.routes

  rest_api_id          = aws_api_gateway_rest_api.this.id
  resource_id          = local.resource_ids[each.value.resource]
  http_method          = each.value.method
  authorization        = local.authorizer.method_auth
  authorizer_id        = aws_api_gateway_authorizer.api_key.id
  request_validator_id = aws_api_gateway_request_validator.parameters.id
  request_parameters   = { for p in each.value.path_params : "method.request.path.${p}" => true }
}

resource "aws_api_gateway_integration" "this" {
  for_each = local.routes

  rest_api_id             = aws_api_gateway_rest_api.this.id
  resource_id             = aws_api_gateway_method.this[each.key].resource_id
  http_method             = aws_api_gateway_method.this[each.key].http_method
  type                    = local.integration.type
  integration_http_method = local.integration.http_method
  uri                     = module.function["upload_api"].alias_invoke_arn
  timeout_milliseconds    = local.integration.timeout_milliseconds
}

resource "aws_api_gateway_gateway_response" "this" {
  for_each = local.gateway_responses

  rest_api_id   = aws_api_gateway_rest_api.this.id
  response_type = each.key
  status_code   = each.value.status_code

  response_templates = {
    "application/json" = local.gateway_response_templates[each.key]
  }
}

# CORS preflight (only with cors_allowed_origins): OPTIONS answered by API Gateway itself (MOCK), no backend,
# no authorizer (browsers send preflights without credentials).
resource "aws_api_gateway_method" "cors" {
  for_each = local.cors_resources

  rest_api_id          = aws_api_gateway_rest_api.this.id
  resource_id          = each.value.resource_id
  http_method          = "OPTIONS"
  authorization        = "NONE"
  request_validator_id = aws_api_gateway_request_validator.parameters.id
}

resource "aws_api_gateway_integration" "cors" {
  for_each = local.cors_resources

  rest_api_id          = aws_api_gateway_rest_api.this.id
  resource_id          = aws_api_gateway_method.cors[each.key].resource_id
  http_method          = aws_api_gateway_method.cors[each.key].http_method
  type                 = "MOCK"
  passthrough_behavior = "WHEN_NO_MATCH"
  request_templates    = { "application/json" = "{\"statusCode\": 204}" }
}

resource "aws_api_gateway_method_response" "cors" {
  for_each = local.cors_resources

  rest_api_id = aws_api_gateway_rest_api.this.id
  resource_id = aws_api_gateway_method.cors[each.key].resource_id
  http_method = aws_api_gateway_method.cors[each.key].http_method
  status_code = "204"

  response_parameters = {
    "method.response.header.Access-Control-Allow-Origin"  = false
    "method.response.header.Access-Control-Allow-Methods" = true
    "method.response.header.Access-Control-Allow-Headers" = true
    "method.response.header.Access-Control-Max-Age"       = true
    "method.response.header.Vary"                         = true
  }
}

resource "aws_api_gateway_integration_response" "cors" {
  for_each = local.cors_resources

  rest_api_id = aws_api_gateway_rest_api.this.id
  resource_id = aws_api_gateway_method.cors[each.key].resource_id
  http_method = aws_api_gateway_method.cors[each.key].http_method
  status_code = aws_api_gateway_method_response.cors[each.key].status_code

  response_parameters = merge(local.cors_static_headers, {
    "method.response.header.Access-Control-Allow-Methods" = "'${each.value.methods}'"
  })
  response_templates = { "application/json" = local.cors_response_template }

  depends_on = [aws_api_gateway_integration.cors]
}

# A new deployment whenever anything that a deployment snapshots changes (routes, auth, integrations, error
# responses, CORS, binary media types); the new one is created before the old one is removed.
resource "aws_api_gateway_deployment" "this" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  description = "${local.api_name}: ingestion API"

  triggers = {
    redeployment = sha1(jsonencode(local.deployment_fingerprint))
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_api_gateway_stage" "this" {
  #checkov:skip=CKV_AWS_120:Responses are per-caller and short-lived (presigned URLs, upload ids); caching them would serve one key's answer to another and stale links.
  #checkov:skip=CKV2_AWS_77:Log4j protection is the KnownBadInputs rule set (with waf_enabled); the check also demands AnonymousIpList, whose hosting-provider list would block the server-to-server clients this API serves.
  #checkov:skip=CKV2_AWS_51:Client certificates authenticate API Gateway to HTTP backends; the only backend here is Lambda (AWS_PROXY), invoked through IAM.
  rest_api_id          = aws_api_gateway_rest_api.this.id
  deployment_id        = aws_api_gateway_deployment.this.id
  stage_name           = var.stage_name
  description          = "${local.api_name}: ${var.stage_name}"
  xray_tracing_enabled = true

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.this["access"].arn
    format          = jsonencode(local.access_log_format)
  }

  tags = merge(var.tags, { Name = "${local.api_name}-${var.stage_name}" })

  # API Gateway refuses logging settings while the account has no CloudWatch role; our log groups must exist
  # (encrypted, with retention) before API Gateway could create them.
  depends_on = [aws_api_gateway_account.this, aws_cloudwatch_log_group.this]
}

resource "aws_api_gateway_method_settings" "all" {
  #checkov:skip=CKV_AWS_225:Responses are per-caller and short-lived (presigned URLs, upload ids); a cache would serve one key's answer to another and stale links.
  rest_api_id = aws_api_gateway_rest_api.this.id
  stage_name  = aws_api_gateway_stage.this.stage_name
  method_path = "*/*"

  settings {
    metrics_enabled        = true
    logging_level          = "INFO"
    data_trace_enabled     = false # never log request or response bodies (images, presigned URLs)
    throttling_rate_limit  = var.throttling_rate_limit
    throttling_burst_limit = var.throttling_burst_limit
    caching_enabled        = false
    cache_data_encrypted   = true
  }
}

resource "aws_lambda_permission" "upload_api" {
  statement_id  = "AllowInvokeFromIngestApi"
  action        = "lambda:InvokeFunction"
  function_name = module.function["upload_api"].function_name
  qualifier     = module.function["upload_api"].alias_name
  principal     = "apigateway.${local.dns_suffix}"
  # <execution arn>/<stage>/<method>/<path>: only this API's stage, only below /v1.
  source_arn = "${aws_api_gateway_rest_api.this.execution_arn}/${var.stage_name}/*/v1/*"
}
