//! What the devnet runs on, fetched from the npm registry into the project's `tests/` dir: the anvil binary,
//! solc (to compile our own two test contracts), and the compiled contracts the protocols publish.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use std::collections::BTreeMap;

use alloy::primitives::{B256, Bytes};
use serde_json::Value;

use super::DevnetError;

/// The `tests/` dir with the npm manifest, and where installed packages go.
#[derive(Debug, Clone)]
pub struct DevnetAssets {
    root: PathBuf,
}

/// Our own contracts, compiled at fixture time.
pub const TEST_TOKEN_SOL: &str = include_str!("../../tests/contracts/TestToken.sol");
pub const PANCAKE_DEPLOYER_SOL: &str = include_str!("../../tests/contracts/PancakeV3PoolDeployer.sol");
pub const POOL_STATE_LENS_SOL: &str = include_str!("../../connectors/contracts/PoolStateLens.sol");
pub const V4_POOL_STATE_LENS_SOL: &str = include_str!("../../connectors/contracts/V4PoolStateLens.sol");
pub const TICK_WINDOW_SOL: &str = include_str!("../../connectors/contracts/TickWindow.sol");
const MANIFEST: &str = include_str!("../../tests/package.json");

impl DevnetAssets {
    /// `GATEWAY_DEVNET_DIR`, else the `tests/` dir of the source tree this binary was built from.
    pub fn locate() -> DevnetAssets {
        let root = std::env::var_os("GATEWAY_DEVNET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests"));
        DevnetAssets { root }
    }

    pub fn at(root: impl Into<PathBuf>) -> DevnetAssets {
        DevnetAssets { root: root.into() }
    }

    /// Scratch space for unpacked packages and state snapshots (git-ignored).
    pub fn work_dir(&self) -> PathBuf {
        self.root.join(".devnet")
    }

    pub fn anvil_bin(&self) -> PathBuf {
        self.root.join("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")
    }

    fn packages_dir(&self) -> PathBuf {
        self.work_dir().join("packages")
    }

    /// Blocks until this process holds the devnet's lock, which keeps two tests or processes from installing
    /// or deploying the same thing at once. Released when the returned file is dropped.
    pub fn lock(&self) -> Result<std::fs::File, DevnetError> {
        let dir = self.work_dir();
        std::fs::create_dir_all(&dir).map_err(|e| DevnetError::io(&dir, e))?;
        let path = dir.join("lock");
        let file = std::fs::File::create(&path).map_err(|e| DevnetError::io(&path, e))?;
        file.lock().map_err(|e| DevnetError::io(&path, e))?;
        Ok(file)
    }

    /// Installs whatever is missing, under the lock.
    pub fn install(&self, progress: &dyn Fn(&str)) -> Result<(), DevnetError> {
        let _lock = self.lock()?;
        self.ensure_installed(progress)
    }

    /// Installs whatever is missing. Idempotent; the caller holds the lock.
    pub(super) fn ensure_installed(&self, progress: &dyn Fn(&str)) -> Result<(), DevnetError> {
        let installed = [
            "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil",
            "node_modules/solc/package.json",
            "node_modules/solc-0.6.6/package.json",
        ]
        .iter()
        .all(|path| self.root.join(path).is_file());
        if !installed {
            progress("installing anvil and solc from the npm registry (npm install in tests/)");
            self.npm(&self.root, &["install", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"])?;
        }
        for spec in artifact_packages()? {
            let dir = self.package_dir(&spec);
            if dir.join("package.json").is_file() {
                continue;
            }
            progress(&format!("fetching contract artifacts {spec} (npm pack)"));
            // npm pack + tar rather than npm install: some of these packages depend on git URLs that an
            // offline install cannot resolve, and only their compiled artifacts are needed.
            let scratch = self.packages_dir().join(".download");
            std::fs::create_dir_all(&scratch).map_err(|e| DevnetError::io(&scratch, e))?;
            let output = self.npm(&scratch, &["pack", "--silent", &spec])?;
            let tarball = scratch.join(output.lines().last().unwrap_or_default().trim());
            std::fs::create_dir_all(&dir).map_err(|e| DevnetError::io(&dir, e))?;
            run(Command::new("tar").arg("xzf").arg(&tarball).arg("-C").arg(&dir).arg("--strip-components=1"), "tar")?;
            std::fs::remove_file(&tarball).map_err(|e| DevnetError::io(&tarball, e))?;
        }
        Ok(())
    }

    fn package_dir(&self, spec: &str) -> PathBuf {
        self.packages_dir().join(spec.trim_start_matches('@').replace('/', "__"))
    }

    /// Creation code from a package's artifact file (hardhat or waffle format).
    pub fn creation_code(&self, package: &str, path: &str) -> Result<Bytes, DevnetError> {
        let file = self.package_path(package)?.join(path);
        let text = std::fs::read_to_string(&file).map_err(|e| DevnetError::io(&file, e))?;
        let json: Value =
            serde_json::from_str(&text).map_err(|e| DevnetError::Artifact(format!("{}: {e}", file.display())))?;
        let hex = json["bytecode"]
            .as_str()
            .or_else(|| json["bytecode"]["object"].as_str())
            .or_else(|| json["evm"]["bytecode"]["object"].as_str())
            .or_else(|| json["compilerOutput"]["evm"]["bytecode"]["object"].as_str())
            .ok_or_else(|| DevnetError::Artifact(format!("{}: no bytecode", file.display())))?;
        decode_hex(hex, &file.display().to_string())
    }

    /// Runtime code from a package's forge artifact, for contracts placed with `anvil_setCode` (predeploys).
    pub fn runtime_code(&self, package: &str, path: &str) -> Result<Bytes, DevnetError> {
        let file = self.package_path(package)?.join(path);
        let text = std::fs::read_to_string(&file).map_err(|e| DevnetError::io(&file, e))?;
        let json: Value =
            serde_json::from_str(&text).map_err(|e| DevnetError::Artifact(format!("{}: {e}", file.display())))?;
        let hex = json["deployedBytecode"]["object"]
            .as_str()
            .ok_or_else(|| DevnetError::Artifact(format!("{}: no deployedBytecode", file.display())))?;
        decode_hex(hex, &file.display().to_string())
    }

    /// Multicall3's creation code, which viem ships as a constant.
    pub fn multicall3_code(&self) -> Result<Bytes, DevnetError> {
        self.literal_code("viem", "_cjs/constants/contracts.js", "multicall3Bytecode = '", '\'')
    }

    /// Permit2's runtime code, which v4-periphery's tests place with `vm.etch`: Permit2 ships no artifact.
    pub fn permit2_runtime_code(&self) -> Result<Bytes, DevnetError> {
        self.literal_code("@uniswap/v4-periphery", "lib/permit2/test/utils/DeployPermit2.sol", "hex\"", '"')
    }

    /// Code written as a hex literal in a package's source: what follows the first `opening`, up to `closing`.
    fn literal_code(&self, package: &str, path: &str, opening: &str, closing: char) -> Result<Bytes, DevnetError> {
        let file = self.package_path(package)?.join(path);
        let text = std::fs::read_to_string(&file).map_err(|e| DevnetError::io(&file, e))?;
        let start =
            text.find(opening).ok_or_else(|| DevnetError::Artifact(format!("{}: no {opening}", file.display())))?
                + opening.len();
        let end = text[start..].find(closing).map(|n| start + n).unwrap_or(text.len());
        decode_hex(&text[start..end], &file.display().to_string())
    }

    /// Compiles our own test contracts with solcjs; returns creation code by contract name.
    pub fn compile_own_contracts(&self) -> Result<BTreeMap<String, Bytes>, DevnetError> {
        let sources = serde_json::json!({
            "TestToken.sol": { "content": TEST_TOKEN_SOL },
            "PancakeV3PoolDeployer.sol": { "content": PANCAKE_DEPLOYER_SOL },
            "PoolStateLens.sol": { "content": POOL_STATE_LENS_SOL },
            "V4PoolStateLens.sol": { "content": V4_POOL_STATE_LENS_SOL },
            "TickWindow.sol": { "content": TICK_WINDOW_SOL },
        });
        self.compile("solc", sources)
    }

    /// Uniswap's V2 Router02 source (npm @uniswap/v2-periphery) built for another V2 fork's pairs: its
    /// library's pair init code hash and fee (in thousandths) are replaced before compiling. npm ships no
    /// PancakeSwap V2 router, so the devnet builds one this way; nothing of it is kept in the repository.
    pub fn compile_v2_router(&self, pair_init_code_hash: B256, fee_per_mille: u32) -> Result<Bytes, DevnetError> {
        let periphery = self.package_path("@uniswap/v2-periphery")?.join("contracts");
        let core = self.package_path("@uniswap/v2-core")?.join("contracts/interfaces");
        let lib = self.package_path("@uniswap/lib")?.join("contracts/libraries");
        let read = |path: PathBuf| std::fs::read_to_string(&path).map_err(|e| DevnetError::io(&path, e));
        let kept = 1000 - fee_per_mille;
        let library = read(periphery.join("libraries/UniswapV2Library.sol"))?
            .replace(
                "96e8ac4277198ff8b6f785478aa9a39f403cb768dd02cbee326c3e7da348845f",
                &alloy::hex::encode(pair_init_code_hash),
            )
            .replace("mul(997)", &format!("mul({kept})"));
        let mut sources = serde_json::Map::new();
        let mut add = |name: &str, content: String| {
            sources.insert(name.to_string(), serde_json::json!({ "content": content }));
        };
        add("contracts/libraries/UniswapV2Library.sol", library);
        for file in [
            "UniswapV2Router02.sol",
            "libraries/SafeMath.sol",
            "interfaces/IUniswapV2Router01.sol",
            "interfaces/IUniswapV2Router02.sol",
            "interfaces/IERC20.sol",
            "interfaces/IWETH.sol",
        ] {
            add(&format!("contracts/{file}"), read(periphery.join(file))?);
        }
        for file in ["IUniswapV2Factory.sol", "IUniswapV2Pair.sol"] {
            add(&format!("@uniswap/v2-core/contracts/interfaces/{file}"), read(core.join(file))?);
        }
        add("@uniswap/lib/contracts/libraries/TransferHelper.sol", read(lib.join("TransferHelper.sol"))?);
        let compiled = self.compile("solc-0.6.6", serde_json::Value::Object(sources))?;
        compiled
            .get("UniswapV2Router02")
            .cloned()
            .ok_or_else(|| DevnetError::Tool("solc produced no UniswapV2Router02".into()))
    }

    fn package_path(&self, package: &str) -> Result<PathBuf, DevnetError> {
        let spec = artifact_packages()?
            .into_iter()
            .find(|spec| spec.rsplit_once('@').is_some_and(|(name, _)| name == package))
            .ok_or_else(|| DevnetError::Artifact(format!("{package} is not in tests/package.json artifactPackages")))?;
        Ok(self.package_dir(&spec))
    }

    /// Runs solcjs (`solc_module` from tests/node_modules) on standard-JSON sources; creation code by name.
    fn compile(&self, solc_module: &str, sources: serde_json::Value) -> Result<BTreeMap<String, Bytes>, DevnetError> {
        let input = serde_json::json!({
            "language": "Solidity",
            "sources": sources,
            "settings": {
                "optimizer": { "enabled": true, "runs": 200 },
                "outputSelection": { "*": { "*": ["evm.bytecode.object"] } }
            }
        });
        let script = format!(
            "const solc=require('{solc_module}');let s='';process.stdin.on('data',d=>s+=d);\
             process.stdin.on('end',()=>process.stdout.write(solc.compile(s)));"
        );
        let mut child = Command::new("node")
            .args(["-e", &script])
            .current_dir(&self.root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| DevnetError::Tool(format!("cannot run node ({e}); install Node.js 18 or newer")))?;
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(input.to_string().as_bytes())
            .map_err(|e| DevnetError::Tool(format!("solc: {e}")))?;
        let output = child.wait_with_output().map_err(|e| DevnetError::Tool(format!("solc: {e}")))?;
        if !output.status.success() {
            return Err(DevnetError::Tool(format!("solc failed: {}", String::from_utf8_lossy(&output.stderr))));
        }
        let result: Value = serde_json::from_slice(&output.stdout)
            .map_err(|e| DevnetError::Tool(format!("solc output is not JSON: {e}")))?;
        let errors: Vec<&str> = result["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["severity"] == "error")
            .filter_map(|e| e["formattedMessage"].as_str())
            .collect();
        if !errors.is_empty() {
            return Err(DevnetError::Tool(format!("solc: {}", errors.join("\n"))));
        }
        let mut contracts = BTreeMap::new();
        for file in result["contracts"].as_object().into_iter().flat_map(|m| m.values()) {
            for (name, contract) in file.as_object().into_iter().flatten() {
                let hex = contract["evm"]["bytecode"]["object"].as_str().unwrap_or_default();
                if !hex.is_empty() {
                    contracts.insert(name.clone(), decode_hex(hex, name)?);
                }
            }
        }
        Ok(contracts)
    }

    fn npm(&self, dir: &Path, args: &[&str]) -> Result<String, DevnetError> {
        run(Command::new("npm").args(args).current_dir(dir), "npm")
    }
}

/// The artifact packages (`name@version`) listed in `tests/package.json`.
pub fn artifact_packages() -> Result<Vec<String>, DevnetError> {
    let manifest: Value = serde_json::from_str(MANIFEST).expect("tests/package.json is valid JSON");
    Ok(manifest["artifactPackages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect())
}

fn run(command: &mut Command, tool: &str) -> Result<String, DevnetError> {
    let output = command.stdin(Stdio::null()).output().map_err(|e| {
        DevnetError::Tool(format!("cannot run {tool} ({e}); the devnet needs Node.js with npm, and tar"))
    })?;
    if !output.status.success() {
        return Err(DevnetError::Tool(format!(
            "{tool} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn decode_hex(hex: &str, what: &str) -> Result<Bytes, DevnetError> {
    let hex = hex.trim().trim_start_matches("0x");
    alloy::hex::decode(hex)
        .map(Bytes::from)
        .map_err(|e| DevnetError::Artifact(format!("{what}: bytecode is not hex ({e}); is it an unlinked library?")))
}
