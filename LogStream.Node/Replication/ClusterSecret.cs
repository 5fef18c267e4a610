using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Options;

namespace LogStream.Node.Replication;

/// <summary>The shared secret every internal call carries (header <see cref="HeaderName"/>).</summary>
public sealed class ClusterSecret(IOptions<SecurityOptions> options)
{
    public const string HeaderName = "x-logstream-cluster-secret";

    private readonly byte[] _secret = Encoding.UTF8.GetBytes(options.Value.ClusterSecret);

    public Metadata Headers { get; } = new() { { HeaderName, options.Value.ClusterSecret } };

    /// <summary>Constant-time comparison, so the secret cannot be guessed byte by byte from response times.</summary>
    public bool Matches(string? presented) =>
        presented is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), _secret);
}

/// <summary>Refuses every internal call that does not carry the cluster secret (gRPC status Unauthenticated).</summary>
public sealed partial class ClusterSecretInterceptor(ClusterSecret secret, ILogger<ClusterSecretInterceptor> logger) : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(request, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(request, responseStream, context);
    }

    private void Check(ServerCallContext context)
    {
        if (secret.Matches(context.RequestHeaders.GetValue(ClusterSecret.HeaderName)))
            return;
        LogRefused(context.Method, context.Peer);
        throw new RpcException(new Status(StatusCode.Unauthenticated, "missing or wrong cluster secret"));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused internal call {Method} from {Peer}: missing or wrong cluster secret")]
    private partial void LogRefused(string method, string peer);
}
