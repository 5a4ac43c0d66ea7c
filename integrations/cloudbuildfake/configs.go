package cloudbuildfake

import (
	"embed"
	"os"
	"path/filepath"
)

//go:embed configs/*.yaml
var configs embed.FS

// WriteConfigs writes the example stage and release configs into dir and returns their
// paths, for CUTBOT_STAGE_BUILD_CONFIG and CUTBOT_RELEASE_BUILD_CONFIG.
func WriteConfigs(dir string) (stage, release string, err error) {
	for _, name := range []string{"stage.yaml", "release.yaml"} {
		raw, err := configs.ReadFile("configs/" + name)
		if err != nil {
			return "", "", err
		}
		if err := os.WriteFile(filepath.Join(dir, name), raw, 0o644); err != nil {
			return "", "", err
		}
	}
	return filepath.Join(dir, "stage.yaml"), filepath.Join(dir, "release.yaml"), nil
}
