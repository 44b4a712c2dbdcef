using System.Globalization;
using Npgsql;
using Passthrough.Contracts.CoordinatorEvents;
using Passthrough.Contracts.Messaging;
using Passthrough.EndToEnd.Tests.Infrastructure;
using Passthrough.Lab;
using Passthrough.Testing;

namespace Passthrough.EndToEnd.Tests;

/// <summary>
/// The whole system over the real broker and the real database the fleet deployment uses: RabbitMQ (a throwaway virtual
/// host) and PostgreSQL 15 (a throwaway schema on the cluster the test command starts, <c>PASSTHROUGH_TEST_POSTGRES</c>).
/// A missing service fails these tests; they are never skipped.
/// </summary>
public sealed class RealPartsTests
{
    [Fact]
    public async Task Over_RabbitMQ_and_PostgreSQL_a_passthrough_completes_and_its_release_gives_the_device_back()
    {
        var cancellation = TestContext.Current.CancellationToken;
        await using var vhost = await RabbitMqVirtualHost.CreateAsync("e2e-pg", cancellation);
        await using var schema = await Schema.CreateAsync(cancellation);
        await using var lab = await LabFixture.StartAsync(rabbitMq: vhost.Uri, postgres: schema.ConnectionString);
        var vm = lab.Vm(GuestType.HVM);
        var usb = LabFixture.Device(vm, FleetDeviceKind.UsbController);
        var before = lab.Capture(vm.Host.HostId);

        var saga = await lab.OutcomeAsync((await lab.AssignAsync(vm, usb)).Id);
        Assert.True(saga.Outcome == SagaOutcome.Completed, PassthroughSagaTests.Describe(saga));
        Assert.Equal("pciback", vm.Host.Host.Read(h => h.Function(usb.Address).BoundDriver));

        var release = await lab.OutcomeAsync((await lab.ReleaseAsync(vm, usb)).Id);
        Assert.True(release.Outcome == SagaOutcome.Completed, PassthroughSagaTests.Describe(release));
        Assert.Equal(before, lab.Capture(vm.Host.HostId));

        // Both sagas are rows of the PostgreSQL store, in their final state.
        await using var connection = new NpgsqlConnection(schema.ConnectionString);
        await connection.OpenAsync(cancellation);
        await using var count = new NpgsqlCommand("SELECT count(*) FROM passthrough_saga WHERE current_state = 'Finished'", connection);
        Assert.Equal(2L, Convert.ToInt64(await count.ExecuteScalarAsync(cancellation), CultureInfo.InvariantCulture));
    }

    private sealed class Schema : IAsyncDisposable
    {
        private readonly string _server;
        private readonly string _name;

        private Schema(string server, string name)
        {
            _server = server;
            _name = name;
            ConnectionString = new NpgsqlConnectionStringBuilder(server) { SearchPath = name }.ConnectionString;
        }

        public string ConnectionString { get; }

        public static async Task<Schema> CreateAsync(CancellationToken cancellationToken)
        {
            var server = Environment.GetEnvironmentVariable("PASSTHROUGH_TEST_POSTGRES");
            Assert.False(string.IsNullOrWhiteSpace(server),
                "PASSTHROUGH_TEST_POSTGRES is not set: run the tests with ops/test.sh, which starts a throwaway PostgreSQL 15 cluster.");
            var name = "e2e_" + Guid.NewGuid().ToString("N", CultureInfo.InvariantCulture);
            await ExecuteAsync(server!, $"CREATE SCHEMA {name}", cancellationToken);
            return new Schema(server!, name);
        }

        public async ValueTask DisposeAsync()
        {
            NpgsqlConnection.ClearAllPools();
            await ExecuteAsync(_server, $"DROP SCHEMA IF EXISTS {_name} CASCADE", CancellationToken.None);
        }

        private static async Task ExecuteAsync(string server, string sql, CancellationToken cancellationToken)
        {
            await using var connection = new NpgsqlConnection(server);
            await connection.OpenAsync(cancellationToken);
#pragma warning disable CA2100 // The schema name is a generated identifier, never input.
            await using var command = new NpgsqlCommand(sql, connection);
#pragma warning restore CA2100
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }
}
