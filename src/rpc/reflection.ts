/**
 * gRPC server reflection, v1 and the older v1alpha (same messages, other package), so that
 * buf curl and grpcurl can list and call the services without proto files.
 */
import { createRegistry, toBinary, type DescFile, type DescService, type Registry } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import { ServerReflection as ReflectionV1 } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import type { ServerReflectionRequest } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ReflectionV1alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";

const NOT_FOUND = 5;

type Request = Omit<ServerReflectionRequest, "$typeName" | "$unknown">;

/** Registers both reflection services, describing `services` and every file they need. */
export function registerReflection(router: ConnectRouter, services: DescService[]): void {
  const files = new Map(services.flatMap((service) => withDependencies(service.file)).map((file) => [file.name, file]));
  const catalog = { registry: createRegistry(...files.values()), files };
  const answer = (req: Request) => ({
    validHost: req.host,
    originalRequest: req,
    messageResponse: respond(req, catalog, services),
  });
  const impl = {
    async *serverReflectionInfo(requests: AsyncIterable<Request>) {
      for await (const req of requests) yield answer(req);
    },
  };
  router.service(ReflectionV1, impl as unknown as ServiceImpl<typeof ReflectionV1>);
  router.service(ReflectionV1alpha, impl as unknown as ServiceImpl<typeof ReflectionV1alpha>);
}

interface Catalog {
  registry: Registry;
  files: Map<string, DescFile>;
}

function respond(req: Request, { registry, files: byName }: Catalog, services: DescService[]) {
  const notFound = (what: string) => ({
    case: "errorResponse" as const,
    value: { errorCode: NOT_FOUND, errorMessage: `${what} not found` },
  });
  const files = (file: DescFile | undefined) =>
    file
      ? { case: "fileDescriptorResponse" as const, value: { fileDescriptorProto: withDependencies(file).map(serialize) } }
      : undefined;
  const request = req.messageRequest;
  switch (request.case) {
    case "listServices":
      return { case: "listServicesResponse" as const, value: { service: services.map((s) => ({ name: s.typeName })) } };
    case "fileByFilename":
      return files(byName.get(request.value)) ?? notFound(`file ${request.value}`);
    case "fileContainingSymbol":
      return files(fileOfSymbol(registry, request.value)) ?? notFound(`symbol ${request.value}`);
    case "fileContainingExtension": {
      const message = registry.getMessage(request.value.containingType);
      const extension = message && registry.getExtensionFor(message, request.value.extensionNumber);
      return files(extension?.file) ?? notFound(`extension ${request.value.extensionNumber} of ${request.value.containingType}`);
    }
    case "allExtensionNumbersOfType": {
      const numbers: number[] = [];
      for (const type of registry) if (type.kind === "extension" && type.extendee.typeName === request.value) numbers.push(type.number);
      if (!registry.getMessage(request.value)) return notFound(`type ${request.value}`);
      return { case: "allExtensionNumbersResponse" as const, value: { baseTypeName: request.value, extensionNumber: numbers } };
    }
    default:
      return notFound("request");
  }
}

/** Any type, service or method name; methods and fields are found through their parent. */
function fileOfSymbol(registry: Registry, symbol: string): DescFile | undefined {
  const type = registry.get(symbol) ?? registry.get(symbol.slice(0, symbol.lastIndexOf(".")));
  return type?.kind === "service" || type?.kind === "message" || type?.kind === "enum" || type?.kind === "extension"
    ? type.file
    : undefined;
}

/** The file first, then every file it depends on, each once. */
function withDependencies(file: DescFile): DescFile[] {
  const seen = new Map<string, DescFile>();
  const visit = (f: DescFile) => {
    if (seen.has(f.name)) return;
    seen.set(f.name, f);
    f.dependencies.forEach(visit);
  };
  visit(file);
  return [...seen.values()];
}

const serialize = (file: DescFile) => toBinary(FileDescriptorProtoSchema, file.proto);
